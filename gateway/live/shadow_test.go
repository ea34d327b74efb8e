package live_test

import (
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/spec"
)

func shadowedConfig(mode string) *spec.Config {
	return &spec.Config{
		RouteShadowing: mode,
		Upstreams:      map[string]spec.Upstream{"app": {Instances: []spec.Instance{{Addr: "127.0.0.1:1"}}}},
		Consumers:      nil,
		Auth:           &spec.Auth{JWT: map[string]spec.JWTIssuer{"idp": {Issuer: "https://idp", Audiences: []string{"api"}, Algorithms: []string{"HS256"}, SecretEnv: "X"}}},
		Routes: []spec.Route{
			{Name: "admin", PathPrefix: "/admin", Upstream: "app", Auth: &spec.RouteAuth{Methods: []string{"jwt"}}},
			{Name: "public", PathPrefix: "/", Upstream: "app"},
		},
	}
}

// The one validation (file, reload, admin API) refuses route shadowing with
// route_shadowing: refuse, at the less-protected route; by default the
// findings are warnings.
func TestValidateRouteShadowing(t *testing.T) {
	err := live.Validate(shadowedConfig(spec.ShadowingRefuse))
	fields, _ := spec.FieldErrors(err)
	if len(fields) != 2 {
		t.Fatalf("refuse: %v", err)
	}
	for _, fe := range fields {
		if fe.Path != "routes[1].path_prefix" || !strings.Contains(fe.Message, `route "admin"`) {
			t.Errorf("refuse: %s", fe)
		}
	}
	if fe := fields[0]; fe.Pointer() != "/routes/1/path_prefix" || !strings.Contains(fe.Message, "route shadowing (case)") {
		t.Errorf("first: %s (%s)", fe, fe.Pointer())
	}
	if w := live.Warnings(shadowedConfig(spec.ShadowingRefuse)); len(w) != 0 {
		t.Errorf("refuse mode also warns: %v", w)
	}

	for _, mode := range []string{"", spec.ShadowingWarn} {
		c := shadowedConfig(mode)
		if err := live.Validate(c); err != nil {
			t.Errorf("%q: %v", mode, err)
		}
		if w := live.Warnings(c); len(w) != 2 || w[0].Path != "routes[1].path_prefix" || !strings.Contains(w[0].Message, "case_insensitive") {
			t.Errorf("%q: warnings %v", mode, w)
		}
	}

	off := shadowedConfig(spec.ShadowingOff)
	if err, w := live.Validate(off), live.Warnings(off); err != nil || len(w) != 0 {
		t.Errorf("off: %v %v", err, w)
	}

	accepted := shadowedConfig(spec.ShadowingRefuse)
	accepted.Routes[0].ShadowingAccepted = []string{"public"}
	if err := live.Validate(accepted); err != nil {
		t.Errorf("accepted: %v", err)
	}
	accepted.Routes[0].ShadowingAccepted = []string{"publik", "admin"}
	fields, _ = spec.FieldErrors(live.Validate(accepted))
	if len(fields) != 2 || fields[0].Path != "routes[0].shadowing_accepted[0]" || fields[1].Path != "routes[0].shadowing_accepted[1]" {
		t.Errorf("bad acceptance: %v", fields)
	}

	bad := shadowedConfig("strict")
	if fields, _ := spec.FieldErrors(live.Validate(bad)); len(fields) != 1 || fields[0].Path != "route_shadowing" {
		t.Errorf("bad mode: %v", fields)
	}
}
