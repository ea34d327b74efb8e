package vary_test

import (
	"fmt"
	"net/http"

	"github.com/gatescale/gatescale/internal/vary"
)

// Two layers make the answer depend on Origin; it is listed once.
func ExampleAdd() {
	h := http.Header{"Vary": {"Accept-Encoding"}}
	vary.Add(h, "Origin")
	vary.Add(h, "origin")
	fmt.Println(h.Values("Vary"))
	// Output: [Accept-Encoding Origin]
}
