package cowmap_test

import (
	"fmt"

	"github.com/gatescale/gatescale/internal/cowmap"
)

func ExampleMap_Get() {
	var series cowmap.Map[string, *int]
	made := 0
	create := func(route string) *int { made++; n := 0; return &n }
	for _, route := range []string{"users", "orders", "users"} {
		*series.Get(route, create)++
	}
	users, _ := series.Load("users")
	fmt.Println(*users, series.Len(), made)
	// Output: 2 2 2
}

func ExampleMap_GetWithin() {
	var series cowmap.Map[string, string]
	label := func(route string) string { return route }
	for _, route := range []string{"a", "b", "c", "d"} {
		fmt.Print(series.GetWithin(route, 2, "other", label), " ")
	}
	fmt.Println(series.Len())
	// Output: a b other other 3
}
