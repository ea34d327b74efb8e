package route_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/gatescale/gatescale/gateway/request"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// TestInfoConcurrentWriters is what a composite route does: several upstream
// calls of one request write the record at once while others read it. Run
// with -race.
func TestInfoConcurrentWriters(t *testing.T) {
	info := request.NewInfo("orders", "orders", request.Client{})
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				info.SetUpstream("up-" + strconv.Itoa(w))
				info.SetInstance("10.0.0." + strconv.Itoa(w) + ":80")
				info.AddAttempts(1)
				if i == each-1 {
					info.SetError("upstream timeout")
				}
			}
		}()
		go func() { // a reader, as a streaming access log might be
			defer wg.Done()
			for range each {
				_ = info.State()
			}
		}()
	}
	wg.Wait()
	st := info.State()
	if st.Attempts != writers*each {
		t.Errorf("attempts = %d, want %d: an increment was lost", st.Attempts, writers*each)
	}
	if st.Error != "upstream timeout" || st.Upstream == "" || st.Instance == "" {
		t.Errorf("state = %+v", st)
	}
	if info.Route != "orders" {
		t.Errorf("route = %q", info.Route)
	}
}

// TestTableMakesOneRecord: the handler sees the Info the table made, named
// after the route, with the client decided at the entry.
func TestTableMakesOneRecord(t *testing.T) {
	var got *request.Info
	tbl, err := route.NewTable([]route.Route{{Route: spec.Route{Name: "users", Path: "/users/{id}", Upstream: "users-svc"}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = request.InfoFrom(r.Context()) })}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/users/1", nil)
	r.RemoteAddr = "192.0.2.10:4000"
	tbl.ServeHTTP(httptest.NewRecorder(), r)
	if got == nil || got.Route != "users" || got.State().Upstream != "users-svc" {
		t.Fatalf("record = %+v", got)
	}
	if c, ok := got.Client(); !ok || c.Host != "192.0.2.10" {
		t.Errorf("client = %+v, %v", c, ok)
	}
	// Unmatched requests get a record too (metrics count them).
	var unmatched *request.Info
	tbl2, _ := route.NewTable(nil, route.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			unmatched = request.InfoFrom(r.Context())
			next.ServeHTTP(w, r)
		})
	}))
	tbl2.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nothing", nil))
	if unmatched == nil || unmatched.Route != request.Unmatched {
		t.Fatalf("unmatched record = %+v", unmatched)
	}
}
