package cache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/cache"
	"github.com/gatescale/gatescale/gateway/units"
)

// One store for the whole gateway, one Cache per route.
func ExampleNewStore() {
	store, err := cache.NewStore(cache.StoreOptions{MaxBytes: 256 << 20})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	users, _ := cache.New(store, cache.Policy{TTL: units.Duration(30 * time.Second)})
	orders, _ := cache.New(store, cache.Policy{QueryParams: []string{"page"}})
	fmt.Println(users.Store() == orders.Store())
	// Output: true
}

func ExampleNew() {
	store, _ := cache.NewStore(cache.StoreOptions{})
	defer store.Close()
	_, err := cache.New(store, cache.Policy{TTL: units.Duration(-time.Second), Authenticated: "shared"})
	fmt.Println(err)
	// Output:
	// ttl: must be positive
	// authenticated: must be "per_consumer" or "off", not "shared"
}

func ExampleCache_Middleware() {
	calls := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)

	store, _ := cache.NewStore(cache.StoreOptions{})
	defer store.Close()
	c, _ := cache.New(store, cache.Policy{})
	h := c.Middleware(httputil.NewSingleHostReverseProxy(u))

	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/greeting", nil))
		fmt.Println(rec.Code, rec.Header().Get("X-Cache"), rec.Body)
	}
	fmt.Println("upstream calls:", calls)
	// Output:
	// 200 MISS hello
	// 200 HIT hello
	// upstream calls: 1
}

// A composite route computes its answer in Go; Do gives it the same
// cache, with coalescing.
func ExampleCache_Do() {
	store, _ := cache.NewStore(cache.StoreOptions{})
	defer store.Close()
	c, _ := cache.New(store, cache.Policy{TTL: units.Duration(time.Minute)})
	merge := func(ctx context.Context) (*cache.Response, error) {
		// ... call the upstreams with ctx and merge their answers ...
		return &cache.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"user":1,"orders":[]}`)}, nil
	}
	for range 2 {
		resp, err := c.Do(httptest.NewRequest("GET", "/dashboard", nil), merge)
		if err != nil {
			panic(err)
		}
		fmt.Println(resp.Status, resp.Header.Get("X-Cache"), string(resp.Body))
	}
	// Output:
	// 200 MISS {"user":1,"orders":[]}
	// 200 HIT {"user":1,"orders":[]}
}

func ExampleStore_PurgePrefix() {
	store, _ := cache.NewStore(cache.StoreOptions{})
	defer store.Close()
	c, _ := cache.New(store, cache.Policy{TTL: units.Duration(time.Minute)})
	for _, p := range []string{"/users/1", "/users/2", "/orders/1"} {
		_, _ = c.Do(httptest.NewRequest("GET", "http://api.example.com"+p, nil), func(context.Context) (*cache.Response, error) {
			return &cache.Response{Status: 200, Body: []byte(p)}, nil
		})
	}
	fmt.Println(store.PurgePrefix("api.example.com/users/1")) // one host
	fmt.Println(store.PurgePrefix("/users/"))                 // every host
	fmt.Println(store.Len())
	// Output:
	// 1
	// 1
	// 1
}

func ExampleNewMetrics() {
	reg := prometheus.NewRegistry()
	m, err := cache.NewMetrics(reg)
	if err != nil {
		panic(err)
	}
	store, _ := cache.NewStore(cache.StoreOptions{}, cache.WithMetrics(m))
	defer store.Close()
	c, _ := cache.New(store, cache.Policy{TTL: units.Duration(time.Minute)})
	fetch := func(context.Context) (*cache.Response, error) { return &cache.Response{Status: 204}, nil }
	for range 3 {
		_, _ = c.Do(httptest.NewRequest("GET", "/ping", nil), fetch)
	}
	families, _ := reg.Gather()
	for _, f := range families {
		if f.GetName() == cache.RequestsTotal {
			for _, s := range f.GetMetric() {
				if v := s.GetCounter().GetValue(); v > 0 {
					fmt.Println(s.GetLabel()[0].GetName(), s.GetLabel()[0].GetValue(), v) // labels sorted by name
				}
			}
		}
	}
	// Output:
	// result hit 2
	// result miss 1
}

func ExampleParseCacheControl() {
	d := cache.ParseCacheControl([]string{`public, max-age=60, stale-if-error="600"`})
	fmt.Println(d.Public, d.MaxAge, d.StaleIfError)
	fmt.Println(d)
	// Output:
	// true 1m0s 10m0s
	// public, max-age=60, stale-if-error=600
}

func ExamplePolicy_Validate() {
	err := cache.Policy{QueryParams: []string{"page", "page"}}.Validate()
	var fe *cache.FieldError
	if errors.As(err, &fe) {
		fmt.Printf("field %s: %s\n", fe.Field, fe.Message)
	}
	// Output: field query_params[1]: "page" is listed twice
}

func ExampleStoreOptions_Validate() {
	fmt.Println(cache.StoreOptions{MaxBytes: -1}.Validate())
	// Output: max_bytes: must be positive (omit it for the default 67108864)
}

// A route that sends a share of its requests to a canary draws the variant
// before the cache, so that each variant's answer is stored apart.
func ExampleWithVariant() {
	store, _ := cache.NewStore(cache.StoreOptions{})
	defer store.Close()
	c, _ := cache.New(store, cache.Policy{})
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.Header.Get("X-Variant")) // stands for the variant's upstream
	}))
	for _, variant := range []string{"stable", "canary", "stable", "canary"} {
		r := httptest.NewRequest("GET", "/users/1", nil)
		r.Header.Set("X-Variant", variant)
		r = r.WithContext(cache.WithVariant(r.Context(), variant))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Body.String(), rec.Header().Get(cache.HeaderXCache))
	}
	// Output:
	// stable MISS
	// canary MISS
	// stable HIT
	// canary HIT
}
