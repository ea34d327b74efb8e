package shadow

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gatescale/gatescale/gateway/ipaccess"
	"github.com/gatescale/gatescale/gateway/spec"
)

// TestAddressesCoverSound: addressesCover never says covered when via
// admits an address exposed refuses. Random small allow and deny lists of
// /24 to /32 prefixes inside 10.0.0.0/24 are checked against ipaccess's own
// Admits over every address of the /24, one outside it, an IPv4-mapped one
// and an unknown address (a listener that is not TCP).
func TestAddressesCoverSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := netip.MustParseAddr("10.0.0.0").As4()
	prefix := func() string {
		bits := 24 + rng.IntN(9)
		if bits == 24 {
			bits = 26 + rng.IntN(7) // mostly /26–/32, /24 now and then
		}
		a := base
		a[3] = byte(rng.IntN(256))
		return netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked().String()
	}
	list := func() []string {
		var l []string
		for range rng.IntN(4) {
			l = append(l, prefix())
		}
		return l
	}
	route := func() *spec.Route {
		r := &spec.Route{}
		if rng.IntN(5) > 0 {
			r.IPAccess = &ipaccess.Lists{Allow: list(), Deny: list()}
		}
		return r
	}
	var addrs []netip.Addr
	for i := range 256 {
		a := base
		a[3] = byte(i)
		addrs = append(addrs, netip.AddrFrom4(a))
	}
	addrs = append(addrs, netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("::ffff:10.0.0.7"), netip.Addr{})

	covered := 0
	for i := range 20000 {
		via, exp := route(), route()
		if !addressesCover(via, exp) {
			continue
		}
		covered++
		vr, er := addressRule(via), addressRule(exp)
		for _, a := range addrs {
			if vr.Admits(a) && !er.Admits(a) {
				t.Fatalf("case %d: covered, but via %s admits %v, which exposed %s refuses", i, lists(via), a, lists(exp))
			}
		}
	}
	if covered < 1000 {
		t.Fatalf("only %d of 20000 cases covered: the generator tests little", covered)
	}
}

func lists(r *spec.Route) string {
	if r.IPAccess == nil {
		return "(no ip_access)"
	}
	return fmt.Sprintf("allow %v deny %v", r.IPAccess.Allow, r.IPAccess.Deny)
}
