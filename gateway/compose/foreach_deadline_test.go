package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

// TestForEachStoppedByDeadlineIs504: when the route's deadline passes
// between a for_each call's items — the first answered, the next not yet
// started — the required call was stopped by the deadline: 504 naming it,
// as for a required call the deadline stopped before it started
// (TestRequiredCallNotMadeFailsTheRequest), not a 502.
func TestForEachStoppedByDeadlineIs504(t *testing.T) {
	var calls atomic.Int32
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"items":[{"sku":"a"},{"sku":"b"}]}`),
		"catalog": func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			jsonHandler(0, `{"name":"x"}`)(w, r)
		},
	})
	// The catalog's answer is in hand (read whole, as a buffering proxy
	// has it) when the route's deadline passes: the item succeeded, and
	// the deadline stops the for_each before its next item.
	transport := func(upstream string) http.RoundTripper {
		srv := b.servers[upstream]
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			u, _ := url.Parse(srv.URL)
			r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err != nil || upstream != "catalog" {
				return resp, err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return nil, err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			<-r.Context().Done()
			return resp, nil
		})
	}
	p, err := New("orders", "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o", Hidden: true},
		{Name: "products", Upstream: "catalog", Path: "/products/{item.sku}", ForEach: "order.items", Workers: 1, Group: "products"},
	}}, WithTransports(transport))
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Handle("/o", p)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/o", nil))
	var doc map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &doc)
	if rec.Code != http.StatusGatewayTimeout || doc["call"] != "products" {
		t.Errorf("%d %s, want 504 naming the for_each call products", rec.Code, rec.Body)
	}
	if d := fmt.Sprint(doc["detail"]); !strings.Contains(d, "1 of 2 items") {
		t.Errorf("detail %q does not say how many items were not made", d)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("catalog got %d calls, want 1 (the second item after the deadline)", n)
	}
}
