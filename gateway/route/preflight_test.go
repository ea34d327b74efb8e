package route_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatescale/gatescale/gateway/cors"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// TestPreflightRouting: a CORS preflight reaches the CORS policy of the
// route serving the method it asks about, though no route lists OPTIONS,
// and never the route's handler; without a policy on that route, and for
// OPTIONS that is not a preflight, the table answers 405 as before; a
// route that lists OPTIONS itself still serves plain OPTIONS.
func TestPreflightRouting(t *testing.T) {
	var served atomic.Int64
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1); ok(w, r) })
	tbl, err := route.NewTable([]route.Route{
		{Route: spec.Route{Name: "read", Path: "/items/{id}", Methods: []string{"GET"},
			CORS: &cors.Options{AllowOrigins: []string{"https://read.example"}}}, Handler: count},
		{Route: spec.Route{Name: "write", Path: "/items/{id}", Methods: []string{"PUT"},
			CORS: &cors.Options{AllowOrigins: []string{"https://write.example"}, AllowMethods: []string{"PUT"}}}, Handler: count},
		{Route: spec.Route{Name: "plain", Path: "/plain", Methods: []string{"GET"}}, Handler: count},
		{Route: spec.Route{Name: "options", Path: "/opts", Methods: []string{"GET", "OPTIONS"}}, Handler: count},
	})
	if err != nil {
		t.Fatal(err)
	}
	send := func(path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		tbl.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		path, origin, method string
		code                 int
		acao                 string
	}{
		{"/items/1", "https://write.example", "PUT", 204, "https://write.example"},
		{"/items/1", "https://read.example", "GET", 204, "https://read.example"},
		{"/items/1", "https://read.example", "PUT", 204, ""}, // write's policy
		{"/items/1", "https://write.example", "DELETE", 405, ""},
		{"/items/1", "https://write.example", "BREW", 405, ""},
		{"/plain", "https://read.example", "GET", 405, ""}, // no policy on the route
	} {
		rec := send(tc.path, "Origin", tc.origin, "Access-Control-Request-Method", tc.method)
		if rec.Code != tc.code || rec.Header().Get("Access-Control-Allow-Origin") != tc.acao {
			t.Errorf("preflight %s %s from %s: %d %v, want %d ACAO %q", tc.method, tc.path, tc.origin, rec.Code, rec.Header(), tc.code, tc.acao)
		}
	}
	if rec := send("/items/1", "Origin", "https://write.example"); rec.Code != 405 || !strings.Contains(rec.Header().Get("Allow"), "PUT") {
		t.Errorf("plain OPTIONS: %d %v", rec.Code, rec.Header())
	}
	if n := served.Load(); n != 0 {
		t.Errorf("handlers served %d preflights, want 0", n)
	}
	if rec := send("/opts"); rec.Code != 200 || served.Load() != 1 {
		t.Errorf("OPTIONS to a route that lists it: %d, served %d", rec.Code, served.Load())
	}
	req := httptest.NewRequest(http.MethodOptions, "/items/1", nil)
	req.Header.Set("Origin", "https://write.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	if m := tbl.Match(req); m == nil || m.Name != "write" {
		t.Errorf("Match of a PUT preflight: %v, want route write", m)
	}
}

func TestBadCORSRefused(t *testing.T) {
	_, err := route.NewTable([]route.Route{{Route: spec.Route{Name: "a", Path: "/a",
		CORS: &cors.Options{AllowOrigins: []string{"*"}, AllowCredentials: true}}, Handler: ok}})
	if err == nil || !strings.Contains(err.Error(), "routes[0].cors: allow_origins[0]") {
		t.Fatalf("err = %v, want it at routes[0].cors", err)
	}
}
