package transform_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatescale/gatescale/gateway/transform"
)

// A mobile client gets a slim document, a web client the full one.
func ExampleNew() {
	t, err := transform.New(transform.Rules{
		Header:    "X-Client-Type",
		UserAgent: transform.DefaultUserAgentRules(),
		ClientTypes: []transform.ClientType{
			{
				Name:   "mobile",
				Pick:   []transform.Pick{{Path: "orders", First: 1}},
				Allow:  []string{"user.name", "orders[].id", "orders[].total"},
				Rename: map[string]string{"orders[].total": "sum"},
				Wrap:   "data",
			},
			{Name: "web"},
		},
	})
	if err != nil {
		panic(err)
	}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"user":{"name":"Ada","email":"ada@example.com"},"orders":[{"id":1,"total":9.5,"lines":[]},{"id":2,"total":3}]}`)
	})
	h := t.Middleware(upstream)
	for _, ua := range []string{"Mozilla/5.0 (iPhone) Mobile Safari", "Mozilla/5.0 (X11; Linux) Firefox"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("User-Agent", ua)
		h.ServeHTTP(rec, req)
		fmt.Println(t.ClientType(req), rec.Body)
	}
	// Output:
	// mobile {"data":{"orders":[{"id":1,"sum":9.5}],"user":{"name":"Ada"}}}
	// web {"user":{"name":"Ada","email":"ada@example.com"},"orders":[{"id":1,"total":9.5,"lines":[]},{"id":2,"total":3}]}
}

// An answer over the bound is refused rather than passed unshaped.
func ExampleTransformer_Middleware() {
	t, _ := transform.New(transform.Rules{
		Query:       "client",
		MaxBodySize: 64,
		ClientTypes: []transform.ClientType{{Name: "mobile", Deny: []string{"internal"}}},
	})
	h := t.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":1,"internal":"`+r.URL.Query().Get("pad")+`"}`)
	}))
	for _, q := range []string{"?client=mobile", "?client=mobile&pad=" + strings.Repeat("x", 100)} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/"+q, nil))
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 200 application/json
	// 502 application/problem+json
}

func ExamplePath_String() {
	p := transform.Path{{Name: "items", Each: true}, {Name: "a.b"}}
	fmt.Println(p)
	// Output: items[].a\.b
}

func ExampleTransformer_Apply() {
	t, _ := transform.New(transform.Rules{ClientTypes: []transform.ClientType{
		{Name: "partner", Deny: []string{"items[].cost"}, Flatten: []transform.Flatten{{Path: "meta", Prefix: "meta_"}}},
	}})
	out, err := t.Apply("partner", []byte(`{"items":[{"id":1,"cost":3}],"meta":{"page":1}}`))
	fmt.Println(string(out), err)
	// Output: {"items":[{"id":1}],"meta_page":1} <nil>
}

func ExampleTransformer_ClientType() {
	t, _ := transform.New(transform.Rules{
		Query:       "client",
		Default:     "web",
		ClientTypes: []transform.ClientType{{Name: "tv"}, {Name: "web"}},
	})
	fmt.Println(t.ClientType(httptest.NewRequest("GET", "/?client=TV", nil)))
	fmt.Println(t.ClientType(httptest.NewRequest("GET", "/", nil)))
	// Output:
	// tv
	// web
}

func ExampleParsePath() {
	p, err := transform.ParsePath(`items[].price\.eur`)
	fmt.Printf("%+v %v\n", []transform.Segment(p), err)
	_, err = transform.ParsePath("items[")
	fmt.Println(err)
	// Output:
	// [{Name:items Each:true} {Name:price.eur Each:false}] <nil>
	// "items[": "[" at offset 5 is not "[]" (escape it as \[)
}

func ExampleRules_Validate() {
	err := transform.Rules{Default: "tv", ClientTypes: []transform.ClientType{{Name: "web", Allow: []string{"a..b"}}}}.Validate()
	var fe *transform.FieldError
	errors.As(err, &fe)
	fmt.Println(fe.Field)
	fmt.Println(err)
	// Output:
	// client_types[0].allow[0]
	// client_types[0].allow[0]: "a..b": empty field name at offset 2
	// default: "tv" is not a declared client type
}

func ExampleDefaultUserAgentRules() {
	for _, r := range transform.DefaultUserAgentRules() {
		fmt.Println(r.ClientType, r.Contains)
	}
	// Output:
	// mobile [Mobi Android iPhone iPad]
	// web [Mozilla]
}

func ExampleNewCompressor() {
	_, err := transform.NewCompressor(transform.CompressOptions{Encodings: []string{"zstd", "br"}, GzipLevel: 11})
	fmt.Println(err)
	// Output:
	// encodings[1]: must be "gzip" or "zstd", not "br"
	// gzip_level: must be between 1 and 9
}

func ExampleCompressor_Middleware() {
	c, err := transform.NewCompressor(transform.CompressOptions{MinSize: 512})
	if err != nil {
		panic(err)
	}
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for range 100 {
			io.WriteString(w, `{"hello":"world"}`)
		}
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept-Encoding", "gzip;q=0.8, zstd")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"), rec.Body.Len() < 1700)
	// Output: zstd Accept-Encoding true
}

func ExampleCompressor_Negotiate() {
	c, _ := transform.NewCompressor(transform.CompressOptions{})
	for _, ae := range []string{"gzip, deflate, br, zstd", "gzip;q=1, zstd;q=0.1", "br", "*;q=0"} {
		fmt.Printf("%q\n", c.Negotiate([]string{ae}))
	}
	// Output:
	// "zstd"
	// "gzip"
	// ""
	// ""
}

func ExampleCompressOptions_Validate() {
	fmt.Println(transform.CompressOptions{Encodings: []string{"br"}}.Validate())
	// Output: encodings[0]: must be "gzip" or "zstd", not "br"
}
