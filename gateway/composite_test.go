package gateway_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// A composite route from the YAML file, through the same chain as any route
// (API key, rate limit, metrics), with a cache, per-client-type shaping and
// compression: the whole data path of issue #9 on real loopback backends.
func TestCompositeRouteFromFile(t *testing.T) {
	orders, customers, recs := newBackend(t, "orders"), newBackend(t, "customers"), newBackend(t, "recs")
	jsonAnswer := func(delay time.Duration, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, body)
		}
	}
	orders.handle(jsonAnswer(50*time.Millisecond, `{"id":"o1","customer_id":"c7","total":12.5,"internal_note":"x"}`))
	customers.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Consumer-Id") != "shop" {
			http.Error(w, "no identity forwarded", 400)
			return
		}
		jsonAnswer(50*time.Millisecond, `{"name":"Ada","email":"ada@example.com"}`)(w, r)
	})
	recs.handle(jsonAnswer(50*time.Millisecond, `{"items":[{"sku":"a"},{"sku":"b"}]}`))

	key := "gsk_composite-test-key-0123456789abcdef"
	intruderKey := "gsk_composite-intruder-0123456789abcdef"
	doc := fmt.Sprintf(`
consumers:
  - id: shop
    roles: [storefront]
    api_keys: [{id: shop-1, sha256: %s}]
  - id: intruder
    api_keys: [{id: intruder-1, sha256: %s}]
auth:
  forward: {consumer_id: X-Consumer-Id}
upstreams:
  orders: {instances: [%q]}
  customers: {instances: [%q]}
  recs: {instances: [%q]}
routes:
  - name: order-page
    path: /order-page/{id}
    auth: {methods: [api_key]}
    authorize: {roles: [storefront]}
    rate_limit: [{rate: 1000, burst: 1000, key: consumer}]
    composite:
      calls:
        - {name: order, upstream: orders, path: "/orders/{id}"}
        - {name: customer, upstream: customers, path: "/customers/{order.customer_id}", group: customer}
        - {name: recs, upstream: recs, path: /recs, pick: items, group: recommendations, optional: true}
    cache: {ttl: 1m}
    transform:
      header: X-Client-Type
      client_types:
        - {name: mobile, deny: [internal_note, customer.email, recommendations]}
    compress: {min_size: 1}
`, consumer.HashKey(key), consumer.HashKey(intruderKey), orders.addr(), customers.addr(), recs.addr())
	srv, reg := serveYAML(t, doc)

	get := func(hdr ...string) (int, http.Header, []byte) {
		req, _ := http.NewRequest("GET", srv+"/order-page/o1", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, body
	}

	if code, _, _ := get(); code != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", code)
	}
	if code, _, _ := get("X-API-Key", intruderKey); code != http.StatusForbidden {
		t.Fatalf("a consumer without the role: %d", code)
	}
	if n := orders.hits.Load(); n != 0 {
		t.Fatalf("refused requests reached the backends: %d calls", n)
	}

	// 100 concurrent identical requests: one call per backend.
	var wg sync.WaitGroup
	bodies := make([]string, 100)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, body := get("X-API-Key", key)
			if code != 200 {
				t.Errorf("request %d: %d %s", i, code, body)
			}
			bodies[i] = string(body)
		}()
	}
	wg.Wait()
	if o, c, r := orders.hits.Load(), customers.hits.Load(), recs.hits.Load(); o != 1 || c != 1 || r != 1 {
		t.Errorf("backend calls orders=%d customers=%d recs=%d, want 1 each", o, c, r)
	}
	var full map[string]any
	if err := json.Unmarshal([]byte(bodies[0]), &full); err != nil {
		t.Fatalf("%v: %s", err, bodies[0])
	}
	if full["id"] != "o1" || full["customer"].(map[string]any)["email"] != "ada@example.com" || len(full["recommendations"].([]any)) != 2 {
		t.Errorf("merged answer %s", bodies[0])
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("answers differ:\n%s\n%s", b, bodies[0])
		}
	}

	// The mobile client type gets the slim document, compressed.
	code, hdr, body := get("X-API-Key", key, "X-Client-Type", "mobile", "Accept-Encoding", "gzip")
	if code != 200 || hdr.Get("Content-Encoding") != "gzip" {
		t.Fatalf("mobile: %d %v", code, hdr)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var slim map[string]any
	if err := json.Unmarshal(plain, &slim); err != nil {
		t.Fatalf("%v: %s", err, plain)
	}
	if _, ok := slim["internal_note"]; ok || slim["customer"].(map[string]any)["email"] != nil || slim["recommendations"] != nil || slim["id"] != "o1" {
		t.Errorf("mobile answer %s", plain)
	}

	// Per-call metrics — the mobile answer was shaped from the stored one,
	// so the calls ran once — and the route's own (what the HPA reads).
	if v := metricValue(t, reg, "gatescale_composite_calls_total", "route", "order-page", "call", "customer", "outcome", "ok"); v != 1 {
		t.Errorf("composite calls_total{customer,ok} = %v", v)
	}
	if v := metricValue(t, reg, "gatescale_http_requests_total", "route", "order-page", "code", "200"); v < 101 {
		t.Errorf("route requests = %v, want at least 101", v)
	}
}
