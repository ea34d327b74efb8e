package ipaccess_test

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/gatescale/gatescale/gateway/ipaccess"
)

// A route for the office network and the VPN, without one noisy host.
func ExampleParseRule() {
	rule, err := ipaccess.ParseRule(ipaccess.Lists{
		Allow: []string{"10.0.0.0/8", "2001:db8:1::/48"},
		Deny:  []string{"10.9.9.9"},
	})
	if err != nil {
		panic(err)
	}
	for _, a := range []string{"10.1.2.3", "10.9.9.9", "203.0.113.5", "::ffff:10.1.2.3"} {
		fmt.Println(a, rule.Admits(netip.MustParseAddr(a)))
	}
	_, err = ipaccess.ParseRule(ipaccess.Lists{Allow: []string{"10.0.0.0/8", "10.1.2.3/16"}})
	fmt.Println(err)
	// Output:
	// 10.1.2.3 true
	// 10.9.9.9 false
	// 203.0.113.5 false
	// ::ffff:10.1.2.3 true
	// allow[1]: "10.1.2.3/16" has bits set past its length: write 10.1.0.0/16
}

func ExampleParsePrefix() {
	for _, s := range []string{"192.0.2.7", "::ffff:10.0.0.0/104", "2001:db8::/32"} {
		p, _ := ipaccess.ParsePrefix(s)
		fmt.Println(p)
	}
	// Output:
	// 192.0.2.7/32
	// 10.0.0.0/8
	// 2001:db8::/32
}

func ExampleRule_Admits() {
	rule := ipaccess.Rule{Deny: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
	fmt.Println(rule.Admits(netip.MustParseAddr("198.51.100.20")), rule.Admits(netip.MustParseAddr("192.0.2.1")))
	// Output: false true
}

// Behind a load balancer at 10.0.0.0/8, the client is the one it names in
// X-Forwarded-For. (Under a gateway route table, its trusted proxies
// decide, and the option is not needed.)
func ExampleMiddleware() {
	rule, _ := ipaccess.ParseRule(ipaccess.Lists{Allow: []string{"192.0.2.0/24"}})
	mw := ipaccess.Middleware(rule, ipaccess.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	_ = h // mount it: http.ListenAndServe(":8080", h)
	fmt.Println("ok")
	// Output: ok
}

func ExampleWithTrustedProxies() {
	_ = ipaccess.Middleware(ipaccess.Rule{}, ipaccess.WithTrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
	fmt.Println("ok")
	// Output: ok
}
