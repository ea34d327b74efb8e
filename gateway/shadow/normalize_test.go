package shadow

import (
	"testing"

	"github.com/gatescale/gatescale/gateway/route"
)

// Each normalisation makes a different spelling that it reads as the
// original; the gateway's own path hardening refuses or resolves exactly
// the ones documented as neutralised, and passes the others through — which
// is why Find reports those.
func TestVariantsAgainstTheGatewaysNormalForm(t *testing.T) {
	neutralised := map[Normalization]bool{PercentDecode: true, MatrixParams: true, DoubleSlash: true,
		Backslash: true, TrailingDot: true, DotSegments: true, EncodedSlash: true}
	for _, u := range []string{"/admin", "/admin/users", "/admin/users/", "/a/b.c/d"} {
		for _, n := range Normalizations {
			v := n.variant(u)
			if v == "" {
				if !(n == Suffix && u[len(u)-1] == '/') {
					t.Errorf("%s: no variant of %s", n, u)
				}
				continue
			}
			if n != None && v == u {
				t.Errorf("%s: variant of %s is itself", n, u)
			}
			if n.canon(v) != n.canon(u) {
				t.Errorf("%s: %s reads as %s, not as %s (%s)", n, v, n.canon(v), u, n.canon(u))
			}
			norm, err := route.NormalizePath(v)
			gatewayNeutralises := err != nil || norm == u
			if n != None && gatewayNeutralises != neutralised[n] {
				t.Errorf("%s: the gateway turns %s into %q (err %v); neutralised: want %v", n, v, norm, err, neutralised[n])
			}
		}
	}
}

func TestCanonOnlyJoinsWhatItShould(t *testing.T) {
	for _, tc := range []struct {
		n    Normalization
		a, b string
	}{
		{Case, "/admin", "/public"},
		{TrailingSlash, "/admin", "/admin/x"},
		{Suffix, "/admin", "/admins"},
		{MatrixParams, "/admin", "/admin/x"},
		{DotSegments, "/admin", "/x/admin"},
	} {
		if tc.n.canon(tc.a) == tc.n.canon(tc.b) {
			t.Errorf("%s reads %s and %s as one path", tc.n, tc.a, tc.b)
		}
	}
}
