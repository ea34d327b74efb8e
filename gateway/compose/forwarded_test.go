package compose

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gatescale/gatescale/gateway/request"
)

// TestForwardingHeadersSetByGateway: a call carries the forwarding headers
// a proxied request would — the client's address, the host and scheme it
// asked for — and a client that is not a trusted proxy cannot put its own
// X-Forwarded-For, -Host, -Proto or Forwarded in front of a backend (which
// would take 6.6.6.6 for the client, or evil.example for the site).
func TestForwardingHeadersSetByGateway(t *testing.T) {
	var got atomic.Value
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.Header.Clone())
			jsonHandler(0, `{"id":"o1"}`)(w, r)
		},
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{{Name: "order", Upstream: "orders", Path: "/orders/1"}}})
	spoof := []string{"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.example",
		"X-Forwarded-Proto", "https", "Forwarded", "for=6.6.6.6;host=evil.example"}
	send := func(trusted ...netip.Prefix) http.Header {
		t.Helper()
		r := chi.NewRouter()
		r.Use(request.TrustProxies(trusted...))
		r.Handle("/o", p)
		req := httptest.NewRequest("GET", "/o", nil) // from 192.0.2.1, Host example.com
		for i := 0; i < len(spoof); i += 2 {
			req.Header.Set(spoof[i], spoof[i+1])
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		return got.Load().(http.Header)
	}

	h := send()
	if v := h.Values("X-Forwarded-For"); len(v) != 1 || v[0] != "192.0.2.1" {
		t.Errorf("X-Forwarded-For %q, want the client's address 192.0.2.1", v)
	}
	if v := h.Get("X-Forwarded-Host"); v != "example.com" {
		t.Errorf("X-Forwarded-Host %q, want example.com", v)
	}
	if v := h.Get("X-Forwarded-Proto"); v != "http" {
		t.Errorf("X-Forwarded-Proto %q, want http", v)
	}
	if v := strings.Join(h.Values("Forwarded"), ","); strings.Contains(v, "6.6.6.6") || !strings.Contains(v, "for=192.0.2.1") {
		t.Errorf("Forwarded %q, want only this hop's element", v)
	}

	// Behind a trusted proxy, its chain is kept and extended, as for a
	// proxied route.
	h = send(netip.MustParsePrefix("192.0.2.0/24"))
	if v := h.Get("X-Forwarded-For"); v != "6.6.6.6, 192.0.2.1" {
		t.Errorf("trusted: X-Forwarded-For %q, want the proxy's chain extended", v)
	}
	if v := h.Get("X-Forwarded-Host"); v != "evil.example" {
		t.Errorf("trusted: X-Forwarded-Host %q, want the trusted proxy's", v)
	}
}
