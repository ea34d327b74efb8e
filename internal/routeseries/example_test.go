package routeseries_test

import (
	"fmt"

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
