package routeseries_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/internal/routeseries"
)

func ExampleSet_Forget() {
	routes := routeseries.New(
		func(route string) []string { return nil },
		func(route string) { fmt.Println("series of", route, "deleted") },
	)
	born := routes.Born() // when the old table's handler is built

	rt := routes.Enter("orders", born) // a request of the old table
	routes.Forget("orders")            // a reload removed the route
	fmt.Println("request still recording")
	routes.Exit(rt) // its end deletes the series

	fmt.Println(routes.Enter("orders", born) == nil) // a late old request records nothing
	// Output:
	// request still recording
	// series of orders deleted
	// true
}

// A request of a handler built once (marked OutlivesTables) records into a
// route of its name even after the route was forgotten; one of an old
// table's handler does not.
func ExampleBornOf() {
	routes := routeseries.New(func(string) struct{} { return struct{}{} }, func(string) {})
	born := routes.Born() // both handlers wrapped now
	routes.Forget("users")

	ofTable := httptest.NewRequest("GET", "/users", nil)
	info := request.NewInfo("users", "users", request.Client{})
	info.SetOutlivesTables()
	lasting := ofTable.WithContext(request.WithInfo(ofTable.Context(), info))
	for _, r := range []*http.Request{ofTable, lasting} {
		rt := routes.Enter("users", routeseries.BornOf(r, born))
		fmt.Println(rt != nil)
		if rt != nil {
			routes.Exit(rt)
		}
	}
	// Output:
	// false
	// true
}
