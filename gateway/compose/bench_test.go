package compose

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// BenchmarkPlanOwnWork is a composite route's own work per request: three
// calls, one depending on another's answer, answered in memory by the
// transport (no sockets), and the merged answer written to a recorder.
// The canned answers' and the recorder's allocations are counted too;
// they are the same on every version.
func BenchmarkPlanOwnWork(b *testing.B) {
	answers := map[string]string{
		"orders":    `{"id":9007199254740993,"customer_id":"c7","total":"12.50","lines":[{"sku":"a","qty":2},{"sku":"b","qty":1}],"note":"<gift>"}`,
		"customers": `{"name":"Ada Lovelace","tier":"gold","email":"ada@example.com","address":{"city":"London","zip":"SW1Y 4JH"}}`,
		"recs":      `{"items":[{"sku":"c","score":0.93},{"sku":"d","score":0.71}]}`,
	}
	transport := func(upstream string) http.RoundTripper {
		body := answers[upstream]
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
		})
	}
	p, err := New("orders", "/orders/{id}", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/orders/{id}"},
		{Name: "customer", Upstream: "customers", Path: "/customers/{order.customer_id}", Group: "customer"},
		{Name: "recs", Upstream: "recs", Path: "/recs/{id}", Group: "recommended"},
	}}, WithTransports(transport))
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	r.Handle("/orders/{id}", p)
	req := httptest.NewRequest("GET", "/orders/o1", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
