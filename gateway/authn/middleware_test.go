package authn_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/request"
)

// seen records what the protected handler got.
type seen struct {
	id     *consumer.Identity
	header http.Header
	url    *url.URL
	calls  int
}

func (s *seen) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls++
		s.id = consumer.FromContext(r.Context())
		s.header = r.Header.Clone()
		s.url = r.URL
		_, _ = io.WriteString(w, "ok")
	})
}

// withRoute puts route Info in the context, as the route table does.
func withRoute(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(request.WithInfo(r.Context(), &request.Info{Route: name})))
	})
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	key := "gsk_test-key-for-alice-0123456789"
	store, err := consumer.NewMemory([]consumer.Consumer{
		{ID: "alice", Scopes: []string{"s1"}, APIKeys: []consumer.APIKey{{ID: "alice-1", SHA256: consumer.HashKey(key).String()}}},
		{ID: "mallory", Disabled: true, APIKeys: []consumer.APIKey{{ID: "m-1", SHA256: consumer.HashKey("mallory-key").String()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := authn.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	apiKey := &authn.APIKey{Store: store, Query: "api_key"}
	methods := []authn.Method{f.jwt, apiKey}

	var s seen
	strict := withRoute("orders", authn.Middleware(methods, authn.WithMetrics(m), authn.WithRealm("shop"))(s.handler()))
	open := withRoute("catalog", authn.Middleware(methods, authn.WithAnonymous(true), authn.WithMetrics(m))(s.handler()))
	good := f.rs.sign(t, claims(corpIss, aud, "bob", nil))
	expired := f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))

	type req struct {
		h      http.Handler
		target string
		hdr    map[string]string
	}
	cases := []struct {
		name      string
		req       req
		code      int
		consumer  string
		method    string
		challenge []string // WWW-Authenticate values, in order
		reason    string
	}{
		{"jwt", req{strict, "/", map[string]string{"Authorization": "Bearer " + good}}, 200, "bob", "jwt", nil, ""},
		{"bearer scheme is case-insensitive", req{strict, "/", map[string]string{"Authorization": "bearer " + good}}, 200, "bob", "jwt", nil, ""},
		{"api key header", req{strict, "/", map[string]string{"X-API-Key": key}}, 200, "alice", "api_key", nil, ""},
		{"api key query", req{strict, "/?a=1&api_key=" + url.QueryEscape(key), nil}, 200, "alice", "api_key", nil, ""},
		{"api key query, name escaped", req{strict, "/?a=1&api%5Fkey=" + url.QueryEscape(key), nil}, 200, "alice", "api_key", nil, ""},
		{"no credentials", req{strict, "/", nil}, 401, "", "", []string{`Bearer realm="shop"`, `APIKey realm="shop", header="X-API-Key"`}, "missing_credentials"},
		{"other auth scheme is no credentials", req{strict, "/", map[string]string{"Authorization": "Basic YTpi"}}, 401, "", "", nil, "missing_credentials"},
		{"expired jwt", req{strict, "/", map[string]string{"Authorization": "Bearer " + expired}}, 401, "", "",
			[]string{`Bearer realm="shop", error="invalid_token", error_description="the token has expired"`}, "expired"},
		// The first method whose credentials are present decides: a bad
		// token is not rescued by a good API key.
		// The key is the gateway's credential even when the token decided:
		// it does not go on to the upstream.
		{"jwt decides, the key stays here", req{strict, "/?api_key=" + url.QueryEscape(key), map[string]string{"Authorization": "Bearer " + good, "X-API-Key": key}}, 200, "bob", "jwt", nil, ""},
		{"bad jwt with good key", req{strict, "/", map[string]string{"Authorization": "Bearer " + expired, "X-API-Key": key}}, 401, "", "", nil, "expired"},
		{"unknown key", req{strict, "/", map[string]string{"X-API-Key": "nope"}}, 401, "", "", []string{`APIKey realm="shop", header="X-API-Key"`}, "unknown_api_key"},
		{"disabled consumer", req{strict, "/", map[string]string{"X-API-Key": "mallory-key"}}, 401, "", "", nil, "disabled_consumer"},
		{"anonymous allowed", req{open, "/", nil}, 200, "", "anonymous", nil, ""},
		{"anonymous route still refuses bad credentials", req{open, "/", map[string]string{"X-API-Key": "nope"}}, 401, "", "", nil, "unknown_api_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s = seen{}
			r := httptest.NewRequest("GET", c.req.target, nil)
			for k, v := range c.req.hdr {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			c.req.h.ServeHTTP(rec, r)
			if rec.Code != c.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.code, rec.Body)
			}
			if c.code == 200 {
				if s.calls != 1 || s.id == nil || s.id.ConsumerID != c.consumer || s.id.Method != c.method {
					t.Fatalf("handler saw identity %+v, want %q via %s", s.id, c.consumer, c.method)
				}
				if s.header.Get("X-API-Key") != "" || s.url.Query().Has("api_key") {
					t.Fatalf("the API key went on to the handler: %v %v", s.header, s.url)
				}
				if r.Header.Get("X-API-Key") != c.req.hdr["X-API-Key"] {
					t.Fatal("the caller's request was modified")
				}
				return
			}
			if s.calls != 0 {
				t.Fatal("a refused request reached the handler")
			}
			if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Fatalf("content type %q", ct)
			}
			var body problem.Details
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Type != "urn:gatescale:auth:"+c.reason || body.Detail == "" || body.Status != c.code {
				t.Fatalf("problem body %+v, want reason %s", body, c.reason)
			}
			if strings.Contains(rec.Body.String(), key) || strings.Contains(rec.Body.String(), expired) {
				t.Fatal("the body quotes a credential")
			}
			if got := rec.Header().Values("WWW-Authenticate"); len(got) == 0 || c.challenge != nil && strings.Join(got, "|") != strings.Join(c.challenge, "|") {
				t.Fatalf("WWW-Authenticate %q, want %q", got, c.challenge)
			}
		})
	}
	if got := failures(t, reg, "orders", "none", "missing_credentials"); got != 2 {
		t.Errorf("missing credentials on orders counted %v, want 2", got)
	}
	if got := failures(t, reg, "orders", "jwt", "expired"); got != 2 {
		t.Errorf("expired on orders counted %v, want 2", got)
	}
	if got := failures(t, reg, "catalog", "api_key", "unknown_api_key"); got != 1 {
		t.Errorf("unknown key on catalog counted %v, want 1", got)
	}
}

// failures returns the failure counter for the labels (0 if absent).
func failures(t *testing.T, reg *prometheus.Registry, route, method, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != authn.FailuresTotal {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["route"] == route && l["method"] == method && l["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestKeysUnavailableIs503(t *testing.T) {
	srv := newJWKSServer(t)
	srv.fail.Store(true)
	f := newFixture(t)
	j, _ := authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"RS256"},
		Keys: &authn.JWKS{URL: srv.URL, Logger: discard}})
	h := authn.Middleware([]authn.Method{j})(http.NotFoundHandler())
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+f.rs.sign(t, claims(corpIss, aud, "a", nil)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("status %d, challenge %q: want 503 without a challenge (not the client's fault)", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestForward(t *testing.T) {
	var s seen
	h := authn.Forward(authn.ForwardHeaders{ConsumerID: "X-Consumer-Id", Scopes: "X-Consumer-Scopes", Method: "X-Auth-Method"})(s.handler())

	// Spoofed identity headers are removed, whatever their spelling.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Consumer-Id", "admin")
	r.Header["x-consumer-scopes"] = []string{"everything"}
	r.Header["X_Consumer_Id"] = []string{"admin"}
	r.Header.Set("X-Other", "kept")
	h.ServeHTTP(httptest.NewRecorder(), r)
	for k := range s.header {
		if strings.Contains(strings.ToLower(strings.ReplaceAll(k, "_", "-")), "consumer") {
			t.Fatalf("spoofed header %s reached the upstream: %v", k, s.header)
		}
	}
	if s.header.Get("X-Other") != "kept" || r.Header.Get("X-Consumer-Id") != "admin" {
		t.Fatal("other headers lost, or the caller's request modified")
	}

	// An authenticated identity is sent; unsafe list items are left out.
	id := &consumer.Identity{ConsumerID: "alice", Method: "jwt", Scopes: []string{"a", "b c", "d\r\nX: y", "e"}}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Consumer-Id", "admin")
	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(consumer.NewContext(r.Context(), id)))
	if s.header.Get("X-Consumer-Id") != "alice" || s.header.Get("X-Consumer-Scopes") != "a e" || s.header.Get("X-Auth-Method") != "jwt" {
		t.Fatalf("forwarded headers: %v", s.header)
	}
	if len(s.header.Values("X-Consumer-Id")) != 1 {
		t.Fatalf("X-Consumer-Id has %d values", len(s.header.Values("X-Consumer-Id")))
	}
}

// certs is a client CA and certificates it issued, made with crypto/x509.
type certs struct {
	pool         *x509.CertPool
	alice, stray tls.Certificate
	foreign      tls.Certificate // issued by another CA
}

func newCerts(t *testing.T) *certs {
	t.Helper()
	ca := func(name string) (*x509.Certificate, *ecdsa.PrivateKey) {
		k := ecKey(t, elliptic.P256())
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k
	}
	leaf := func(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn, uri string) tls.Certificate {
		k := ecKey(t, elliptic.P256())
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
		if uri != "" {
			u, _ := url.Parse(uri)
			tmpl.URIs = []*url.URL{u}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	}
	root, rootKey := ca("client CA")
	other, otherKey := ca("other CA")
	c := &certs{pool: x509.NewCertPool()}
	c.pool.AddCert(root)
	c.alice = leaf(root, rootKey, "alice", "spiffe://example.org/alice")
	c.stray = leaf(root, rootKey, "stray", "")
	c.foreign = leaf(other, otherKey, "alice", "spiffe://example.org/alice")
	return c
}

func TestMTLS(t *testing.T) {
	cs := newCerts(t)
	store, err := consumer.NewMemory([]consumer.Consumer{{ID: "alice", Certificates: []string{"uri:spiffe://example.org/alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	var s seen
	h := authn.Middleware([]authn.Method{&authn.MTLS{Store: store}, &authn.APIKey{Store: store}})(s.handler())
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: cs.pool}
	srv.StartTLS()
	defer srv.Close()

	get := func(cert *tls.Certificate) (int, string, error) {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			// Always send it, even when the server's list of acceptable
			// CAs does not name its issuer.
			tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, _, err := get(&cs.alice); err != nil || code != 200 || s.id.ConsumerID != "alice" || s.id.Method != "mtls" ||
		s.id.Credential != "uri:spiffe://example.org/alice" {
		t.Fatalf("alice's certificate: %d %v %+v", code, err, s.id)
	}
	if code, body, err := get(&cs.stray); err != nil || code != 401 || !strings.Contains(body, "unknown_certificate") {
		t.Fatalf("a verified certificate mapped to no consumer: %d %q %v", code, body, err)
	}
	if code, body, err := get(nil); err != nil || code != 401 || !strings.Contains(body, "missing_credentials") {
		t.Fatalf("no certificate: %d %q %v", code, body, err)
	}
	// A certificate from another CA, with the same identities, never gets
	// to the middleware: the handshake refuses it.
	s = seen{}
	if code, _, err := get(&cs.foreign); err == nil || s.calls != 0 {
		t.Fatalf("a certificate from an untrusted CA was accepted: %d", code)
	}

	// A plain-HTTP request (no TLS) is no mTLS credential.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 {
		t.Fatalf("no TLS: %d", rec.Code)
	}
}

// TestAPIKeyQueryStrippedAlone: removing an API key sent as a query
// parameter leaves the rest of the query as the client wrote it (order,
// escapes, parameters without "=") — upstreams that sign, cache by or read
// the raw query see what they would without the gateway — while every
// spelling of the key's parameter that Authenticate reads is removed.
func TestAPIKeyQueryStrippedAlone(t *testing.T) {
	key := "gsk_test-key-for-alice-0123456789"
	store, err := consumer.NewMemory([]consumer.Consumer{
		{ID: "alice", APIKeys: []consumer.APIKey{{ID: "alice-1", SHA256: consumer.HashKey(key).String()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var s seen
	h := authn.Middleware([]authn.Method{&authn.APIKey{Store: store, Query: "api_key"}})(s.handler())
	for _, c := range []struct{ query, want string }{
		{"z=1&api_key=" + key + "&sort=b&sort=a&path=%2fx&flag", "z=1&sort=b&sort=a&path=%2fx&flag"},
		{"api_key=" + key, ""},
		{"q=a+b&api%5Fkey=" + key + "&api_key=other", "q=a+b"},
		{"api_key=" + key + "&x=1;api_key=other&y=2", "y=2"},
	} {
		s = seen{}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/p?"+c.query, nil))
		if rec.Code != 200 || s.id == nil || s.id.ConsumerID != "alice" {
			t.Fatalf("?%s: %d %s", c.query, rec.Code, rec.Body)
		}
		if s.url.RawQuery != c.want {
			t.Errorf("?%s: upstream query %q, want %q", c.query, s.url.RawQuery, c.want)
		}
	}
}
