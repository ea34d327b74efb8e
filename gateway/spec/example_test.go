package spec_test

import (
	"encoding/json"
	"fmt"

	"github.com/gatescale/gatescale/gateway/spec"
)

// The model decoded from JSON, as an admin API receives it, and validated:
// each problem names its field by JSON pointer.
func ExampleValidate() {
	var c spec.Config
	_ = json.Unmarshal([]byte(`{
		"upstreams": {"users": {"instances": ["127.0.0.1:9001"]}},
		"routes": [{"name": "users", "path_prefix": "users", "upstream": "userz"}]
	}`), &c)
	fields, _ := spec.FieldErrors(spec.Validate(&c))
	for _, fe := range fields {
		fmt.Println(fe.Pointer(), fe.Message)
	}
	// Output:
	// /routes/0/path_prefix "users" must begin with /
	// /routes/0/upstream "userz" is not defined (defined: users)
}

func ExamplePointer() {
	fmt.Println(spec.Pointer(`upstreams["a/b"].instances[0].addr`))
	// Output: /upstreams/a~1b/instances/0/addr
}

// CheckRoutes checks a route table built in Go on its own: the routes'
// fields and unique names, but not that their upstreams exist (there is
// no Config to look them up in).
func ExampleCheckRoutes() {
	users := spec.Route{Name: "users", PathPrefix: "/users", Upstream: "defined-elsewhere"}
	fmt.Println(spec.CheckRoutes([]spec.Route{users}))

	err := spec.CheckRoutes([]spec.Route{users, {Name: "users", PathPrefix: "orders", Upstream: "orders"}})
	fields, _ := spec.FieldErrors(err)
	for _, fe := range fields {
		fmt.Println(fe.Pointer(), fe.Message)
	}
	// Output:
	// <nil>
	// /routes/1/name "users" is already used by routes[0]
	// /routes/1/path_prefix "orders" must begin with /
}
