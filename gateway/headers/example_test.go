package headers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/headers"
)

func ExampleNew() {
	h, err := headers.New(headers.Rules{
		Request:  &headers.Actions{Set: map[string]string{"X-Env": "prod"}, Remove: []string{"Cookie"}},
		Response: &headers.Actions{Add: map[string]string{"Cache-Status": "gatescale"}, Remove: []string{"Server"}},
	})
	if err != nil {
		panic(err)
	}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("upstream sees:", r.Header.Get("X-Env"), r.Header.Get("Cookie") == "")
		w.Header().Set("Server", "internal/1.2")
		w.Header().Set("Cache-Status", "upstream; miss")
		w.WriteHeader(http.StatusOK)
	})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", "session=1")
	r.Header.Set("X-Env", "dev")
	rec := httptest.NewRecorder()
	h.Middleware(upstream).ServeHTTP(rec, r)
	fmt.Println("client sees:", rec.Header().Values("Cache-Status"), rec.Header().Get("Server") == "")
	// Output:
	// upstream sees: prod true
	// client sees: [upstream; miss gatescale] true
}

func ExampleRules_Validate() {
	err := headers.Rules{Request: &headers.Actions{Set: map[string]string{"x-forwarded-for": "1.2.3.4"}}}.Validate()
	fmt.Println(err)
	// Output:
	// request.set.x-forwarded-for: X-Forwarded-For is the gateway's: X-Forwarded-* are set from the client and the trusted proxies
}

func ExampleReserved() {
	fmt.Printf("%q\n", headers.Reserved("transfer-encoding"))
	fmt.Printf("%q\n", headers.Reserved("X-Env"))
	// Output:
	// "frames the body: the gateway sets it for the bytes it sends"
	// ""
}

func ExampleHeaders_Middleware() {
	h, _ := headers.New(headers.Rules{Response: &headers.Actions{Set: map[string]string{"X-Frame-Options": "DENY"}}})
	rec := httptest.NewRecorder()
	h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		fmt.Fprint(w, "page")
	})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(rec.Header().Get("X-Frame-Options"), rec.Body.String())
	// Output:
	// DENY page
}
