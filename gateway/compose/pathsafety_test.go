package compose

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestPathValueCannotWalkThePath: a value that is a whole path segment
// "." or ".." (from an answer, the query or a header) would make the
// upstream's server resolve the call to another path — /customers/../admin
// is /admin to nginx, Go's ServeMux and most frameworks. Escaping it does
// not help (%2E%2E is decoded before the dot segments are removed), so the
// call fails instead of being sent.
func TestPathValueCannotWalkThePath(t *testing.T) {
	var got uris
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": func(w http.ResponseWriter, r *http.Request) {
			jsonHandler(0, `{"customer_id":"`+r.URL.Query().Get("c")+`"}`)(w, r)
		},
		"customers": got.record(`{"name":"Ada"}`),
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "order", Upstream: "orders", Path: "/o", Query: map[string]string{"c": "{query.c}"}},
		{Name: "customer", Upstream: "customers", Path: "/customers/{order.customer_id}/profile", Group: "customer"},
		{Name: "note", Upstream: "customers", Path: "/notes/{header.X-Note}", Optional: true, Group: "note"},
	}})
	for _, v := range []string{"..", ".", "%2E%2E"} {
		got.take()
		code, _, doc := serve(t, p, "/o", "/o?c="+v, "X-Note", "..")
		for _, uri := range got.take() {
			for seg := range strings.SplitSeq(strings.SplitN(uri, "?", 2)[0], "/") {
				if seg == "." || seg == ".." {
					t.Errorf("c=%s: the upstream got %q", v, uri)
				}
			}
		}
		if v == "%2E%2E" { // decoded by the query to "..": as above
			v = ".."
		}
		if code != http.StatusBadGateway || doc["call"] != "customer" || !strings.Contains(fmt.Sprint(doc["detail"]), `"`+v+`"`) {
			t.Errorf("c=%s: %d %v", v, code, doc)
		}
	}
	// An ordinary value still goes through, and an optional call whose
	// value is refused is left out like any failed optional call.
	code, _, doc := serve(t, p, "/o", "/o?c=c7", "X-Note", "..")
	if code != 200 || fmt.Sprint(doc["_partial"]) != "[note]" {
		t.Fatalf("%d %v", code, doc)
	}
	if seen := got.take(); !slices.Contains(seen, "/customers/c7/profile") {
		t.Fatalf("upstream got %q", seen)
	}
}

// TestPathValueCannotEmptyASegment: a value that is empty (a query
// parameter or header the client left out, "" in an answer) would turn
// /customers/{query.id} into /customers/ — the collection, every customer
// — or /customers//orders, which nginx's merge_slashes makes
// /customers/orders. The call fails instead.
func TestPathValueCannotEmptyASegment(t *testing.T) {
	var got uris
	b := newBackends(t, map[string]http.HandlerFunc{"customers": got.record(`{"name":"Ada"}`)})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{
		{Name: "customer", Upstream: "customers", Path: "/customers/{query.id}", Group: "customer"},
		{Name: "orders", Upstream: "customers", Path: "/customers/{header.X-Id}/orders", Optional: true, Group: "orders"},
		// A value within a segment may be empty: the segment is not.
		{Name: "search", Upstream: "customers", Path: "/search/name-{query.q}", Group: "search"},
	}})
	code, _, doc := serve(t, p, "/o", "/o")
	if code != http.StatusBadGateway || doc["call"] != "customer" || !strings.Contains(fmt.Sprint(doc["detail"]), "{query.id} is empty") {
		t.Errorf("no id: %d %v", code, doc)
	}
	code, _, doc = serve(t, p, "/o", "/o?id=c7")
	if code != 200 || fmt.Sprint(doc["_partial"]) != "[orders]" {
		t.Errorf("no X-Id: %d %v", code, doc)
	}
	seen := got.take()
	for _, uri := range seen {
		if strings.HasSuffix(uri, "/") || strings.Contains(uri, "//") {
			t.Errorf("the upstream got %q", uri)
		}
	}
	if !slices.Contains(seen, "/search/name-") || !slices.Contains(seen, "/customers/c7") {
		t.Errorf("calls made: %q", seen)
	}
}

// TestPathTemplateWithQuery: a query written into the path template would
// be sent escaped, as part of the path (/search%3Fq=x): the upstream
// answers 404 and the route fails at run time with a confusing 502.
// Validation refuses it and points at the query field.
func TestPathTemplateWithQuery(t *testing.T) {
	for _, path := range []string{"/search?q={query.q}", "/page#top"} {
		c := Composite{Calls: []Call{{Name: "a", Upstream: "u", Path: path}}}
		var all []string
		for _, e := range c.Validate("/o", []string{"u"}) {
			all = append(all, e.Error())
		}
		if want := "calls[0].path: "; len(all) != 1 || !strings.HasPrefix(all[0], want) || !strings.Contains(all[0], "query") {
			t.Errorf("%s: got %q", path, all)
		}
	}
}

// uris records the request URIs a backend was called with.
type uris struct {
	mu   sync.Mutex
	list []string
}

// record is a backend that records each call and answers body.
func (u *uris) record(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.list = append(u.list, r.RequestURI)
		u.mu.Unlock()
		jsonHandler(0, body)(w, r)
	}
}

// take returns the URIs recorded since the last take.
func (u *uris) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	l := u.list
	u.list = nil
	return l
}
