package shadow_test

import (
	"strconv"
	"testing"

	"github.com/gatescale/gatescale/gateway/shadow"
	"github.com/gatescale/gatescale/gateway/spec"
)

// BenchmarkFind measures the check on route sets of growing size (half of
// the routes protected, a catch-all, two hosts): it runs on every load,
// reload and admin API write.
func BenchmarkFind(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		routes := []spec.Route{{Name: "public", PathPrefix: "/", Upstream: "app"}}
		for i := range n {
			r := spec.Route{Name: "r" + strconv.Itoa(i), PathPrefix: "/svc" + strconv.Itoa(i), Upstream: "app"}
			if i%2 == 0 {
				r.Auth = &spec.RouteAuth{Methods: []string{"api_key"}}
			}
			if i%10 == 0 {
				r.Hosts = []string{"api" + strconv.Itoa(i%20) + ".example.com"}
			}
			routes = append(routes, r)
		}
		b.Run(strconv.Itoa(n)+"routes", func(b *testing.B) {
			for b.Loop() {
				found, err := shadow.Find(routes)
				if err != nil || len(found) == 0 {
					b.Fatal(err, len(found))
				}
			}
		})
	}
}
