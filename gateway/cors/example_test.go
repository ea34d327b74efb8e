package cors_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/units"
)

func ExampleNew() {
	c, err := cors.New(cors.Options{
		AllowOrigins:     []string{"https://app.example.com", "https://*.example.org"},
		AllowMethods:     []string{"GET", "PUT"},
		AllowHeaders:     []string{"Content-Type", "Authorization"},
		AllowCredentials: true,
		MaxAge:           units.Duration(600e9),
	})
	if err != nil {
		panic(err)
	}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	h := c.Middleware(upstream)

	pre := httptest.NewRequest(http.MethodOptions, "/users", nil)
	pre.Header.Set("Origin", "https://eu.example.org")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	pre.Header.Set("Access-Control-Request-Headers", "authorization")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	fmt.Println(rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Allow-Methods"), rec.Header().Get("Access-Control-Max-Age"))

	get := httptest.NewRequest(http.MethodGet, "/users", nil)
	get.Header.Set("Origin", "https://app.example.com")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, get)
	fmt.Println(rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Allow-Credentials"), rec.Header().Get("Vary"))
	// Output:
	// 204 https://eu.example.org GET, PUT 600
	// 200 https://app.example.com true Origin
}

func ExampleOptions_Validate() {
	err := cors.Options{AllowOrigins: []string{"*"}, AllowCredentials: true}.Validate()
	fmt.Println(err)
	// Output:
	// allow_origins[0]: "*" cannot be combined with allow_credentials: browsers refuse a wildcard origin on credentialed requests (Fetch standard); list the origins
}

func ExampleParseOrigin() {
	p, err := cors.ParseOrigin("HTTPS://*.Example.com:443")
	if err != nil {
		panic(err)
	}
	fmt.Println(p)
	for _, o := range []string{"https://api.example.com", "https://example.com", "http://api.example.com", "https://api.example.com:8443"} {
		fmt.Println(o, p.Match(o))
	}
	// Output:
	// https://*.example.com
	// https://api.example.com true
	// https://example.com false
	// http://api.example.com false
	// https://api.example.com:8443 false
}

func ExampleIsPreflight() {
	r := httptest.NewRequest(http.MethodOptions, "/users", nil)
	fmt.Println(cors.IsPreflight(r))
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "DELETE")
	fmt.Println(cors.IsPreflight(r))
	// Output:
	// false
	// true
}

func ExampleCORS_Middleware() {
	c, err := cors.New(cors.Options{AllowOrigins: []string{"https://app.example.com"}})
	if err != nil {
		panic(err)
	}
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "data") }))
	for _, origin := range []string{"https://app.example.com", "https://evil.example"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		// Another origin is served too, without CORS headers: the browser
		// keeps the answer from its page.
		fmt.Printf("%s: %d %q %q vary=%s\n", origin, rec.Code, rec.Body.String(), rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Vary"))
	}
	// Output:
	// https://app.example.com: 200 "data" "https://app.example.com" vary=Origin
	// https://evil.example: 200 "data" "" vary=Origin
}

func ExampleOriginPattern_Match() {
	p, _ := cors.ParseOrigin("http://localhost:3000")
	fmt.Println(p.Match("http://localhost:3000"), p.Match("http://localhost:3001"), p.Match("https://localhost:3000"))
	any, _ := cors.ParseOrigin("*")
	fmt.Println(any.Any(), any.Match("https://anything.example"))
	// Output:
	// true false false
	// true true
}

// A route's cors: {disabled: true} keeps the top-level policy off it; nil
// is no policy either.
func ExampleOptions_Enabled() {
	var none *cors.Options
	off := &cors.Options{Disabled: true}
	on := &cors.Options{AllowOrigins: []string{"https://app.example.com"}}
	fmt.Println(none.Enabled(), off.Enabled(), on.Enabled(), off.Validate() == nil)
	// Output: false false true true
}
