package mediatype_test

import (
	"fmt"

	"github.com/gatescale/gatescale/internal/mediatype"
)

func ExampleOf() {
	fmt.Printf("%q\n", mediatype.Of("Application/JSON; charset=utf-8"))
	fmt.Printf("%q\n", mediatype.Of("not a type"))
	// Output:
	// "application/json"
	// ""
}

func ExampleIsJSON() {
	fmt.Println(mediatype.IsJSON("application/problem+json"), mediatype.IsJSON("text/html"))
	// Output: true false
}
