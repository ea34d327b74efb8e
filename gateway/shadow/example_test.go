package shadow_test

import (
	"fmt"

	"github.com/gatescale/gatescale/gateway/shadow"
	"github.com/gatescale/gatescale/gateway/spec"
)

// An API-key route for /admin and an anonymous catch-all in front of one
// upstream: an upstream that ignores letter case serves /admin for /ADMIN,
// which the catch-all matches.
func ExampleFind() {
	routes := []spec.Route{
		{Name: "admin", PathPrefix: "/admin", Upstream: "app", Auth: &spec.RouteAuth{Methods: []string{"api_key"}}},
		{Name: "public", PathPrefix: "/", Upstream: "app"},
	}
	found, err := shadow.Find(routes, shadow.WithNormalizations(shadow.Case))
	if err != nil {
		panic(err)
	}
	for _, f := range found {
		fmt.Printf("%s %s via %q reaches %s of %q (missing %s)\n", f.Method, f.Path, f.ViaRoute, f.Reaches, f.ExposedRoute, f.Missing)
		fmt.Println("fix:", f.Fix)
	}

	// case_insensitive routes every spelling of /admin to the admin route.
	routes[0].CaseInsensitive = true
	found, _ = shadow.Find(routes, shadow.WithNormalizations(shadow.Case))
	fmt.Println(len(found), "findings with case_insensitive")
	// Output:
	// GET /ADMIN via "public" reaches /admin of "admin" (missing authentication)
	// fix: set case_insensitive: true on route "admin", or give route "public" the authentication of route "admin"; if the upstream does not do this, add "public" to shadowing_accepted of route "admin"
	// 0 findings with case_insensitive
}

// Lacks compares two routes' protection for one method.
func ExampleLacks() {
	admin := spec.Route{Name: "admin", Auth: &spec.RouteAuth{Methods: []string{"jwt"}},
		Authorize: &spec.Authorize{Scopes: []string{"admin"}}}
	api := spec.Route{Name: "api", Auth: &spec.RouteAuth{Methods: []string{"jwt"}}}
	fmt.Println(shadow.Lacks(&api, &admin, "GET"))
	fmt.Println(shadow.Lacks(&admin, &api, "GET") == 0)
	// Output:
	// authorization
	// true
}
