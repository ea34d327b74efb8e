package gateway_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/discovery"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// rawRequest sends target as the request line's target, byte for byte, so
// that no client library cleans it first, and returns the status code.
func rawRequest(t *testing.T, addr, method, target string, hdr ...string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n", method, target)
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// lenientPath is how a permissive backend might read a request target:
// decode escapes (twice, as some frameworks do), take backslashes for
// slashes, drop ";params", drop trailing dots and spaces of segments
// (Windows), ignore case, resolve dot segments.
func lenientPath(target string) string {
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		target = u.RequestURI()
	}
	p, _, _ := strings.Cut(target, "?")
	for range 2 {
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
	}
	// Overlong UTF-8 forms of "/" and "." that old decoders accepted.
	p = strings.NewReplacer("\xc0\xaf", "/", "\xe0\x80\xaf", "/", "\xc0\xae", ".").Replace(p)
	p = strings.ReplaceAll(p, "\\", "/")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		if s != "." && s != ".." {
			s = strings.TrimRight(s, ". ")
		}
		segs[i] = s
	}
	return strings.ToLower(path.Clean("/" + strings.Join(segs, "/")))
}

// TestPathAttacks sends spellings of a protected path through the real
// gateway. The protected upstream must see none of them without the
// route's policy (here: an API key), and the catch-all route's upstream
// must get none that a permissive server would read as the protected path.
func TestPathAttacks(t *testing.T) {
	admin, public := newBackend(t, "admin"), newBackend(t, "public")
	key := "gsk_path-attack-test-key-0123456789"
	store, err := consumer.NewMemory([]consumer.Consumer{{ID: "ops", APIKeys: []consumer.APIKey{{ID: "ops-1", SHA256: consumer.HashKey(key).String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	requireKey := authn.Middleware([]authn.Method{&authn.APIKey{Store: store}})
	_, srv, _ := newGateway(t, gateway.Config{
		Upstreams: []gateway.UpstreamSpec{
			{Name: "admin", Instances: []discovery.Instance{admin.instance()}},
			{Name: "public", Instances: []discovery.Instance{public.instance()}},
		},
		Routes: []route.Route{
			{Route: spec.Route{Name: "admin", PathPrefix: "/admin", CaseInsensitive: true, Upstream: "admin"}, Middleware: []func(http.Handler) http.Handler{requireKey}},
			{Route: spec.Route{Name: "public", PathPrefix: "/", Upstream: "public"}},
		},
	})
	addr := strings.TrimPrefix(srv.URL, "http://")

	attacks := []string{
		"/admin", "/admin/secret",
		"//admin/secret", "///admin", "/./admin/secret", "/public/../admin/secret", "/public/./../admin",
		"/admin/../admin/secret", "/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin",
		"/%2e/admin", "/public/%2e%2e%2fadmin", "/admin%2fsecret", "/public%2f..%2fadmin", "/%2fadmin",
		"/public/..%5cadmin", "/public\\..\\admin", "/ADMIN/secret", "/Admin", "/aDmIn/x", "/%41dmin",
		"/%61%64%6d%69%6e/secret", "/admin.", "/admin./secret", "/admin..", "/admin%2e/secret", "/admin%20",
		"/admin%20/secret", "/%c0%afadmin", "/public/..%c0%af..%c0%afadmin", "/%c0%ae%c0%ae/admin",
		"/public/%c0%ae%c0%ae/admin", "/public/%e0%80%afadmin", "/public/..;/admin", "/admin;jsessionid=1",
		"/public/%252e%252e/admin", "/public/%2e%2e%3b/admin", "/admin%00", "/admin%0d%0aX-Injected:%201",
		"http://gw.test/admin/secret", "http://gw.test/public/../admin",
	}
	for _, target := range attacks {
		t.Run(target, func(t *testing.T) {
			adminBefore, publicBefore := admin.hits.Load(), public.hits.Load()
			code := rawRequest(t, addr, "GET", target)
			if code != http.StatusBadRequest && code != http.StatusUnauthorized {
				t.Errorf("GET %q without a key: status %d, want 400 (refused) or 401 (the policy applied)", target, code)
			}
			if admin.hits.Load() != adminBefore {
				t.Errorf("GET %q reached the protected upstream without a key", target)
			}
			if public.hits.Load() != publicBefore {
				got := public.last().RequestURI
				if strings.HasPrefix(lenientPath(got), "/admin") {
					t.Errorf("GET %q went to the public upstream as %q, which a permissive server reads as %s", target, got, lenientPath(got))
				}
			}
		})
	}

	// With the key, the spellings that are not refused reach the protected
	// upstream with the normalised path: the path the policy judged.
	for target, want := range map[string]string{
		"/public/../admin/secret": "/admin/secret",
		"//admin//secret":         "/admin/secret",
		"/public/%2e%2e/admin":    "/admin",
		"/ADMIN/Secret":           "/admin/secret",
		"/%41dmin/x/./y/../z":     "/admin/x/z",
	} {
		before := admin.hits.Load()
		if code := rawRequest(t, addr, "GET", target, "X-API-Key", key); code != 200 || admin.hits.Load() != before+1 {
			t.Errorf("GET %q with the key: status %d, admin hits +%d", target, code, admin.hits.Load()-before)
			continue
		}
		if got := admin.last().URL.EscapedPath(); got != want {
			t.Errorf("GET %q reached the upstream as %q, want %q", target, got, want)
		}
		if admin.last().Header.Get("X-API-Key") != "" {
			t.Errorf("the API key went upstream")
		}
	}
	// Ordinary public paths still work, and keep their spelling.
	if code := rawRequest(t, addr, "GET", "/public/Caf%C3%A9?q=1"); code != 200 || public.last().URL.EscapedPath() != "/public/Caf%C3%A9" {
		t.Errorf("public path: %d %q", code, public.last().URL.EscapedPath())
	}
}

// pki is a CA made with crypto/x509 and what it issued, as PEM files.
type pki struct {
	dir                string
	caFile             string
	serverCert, srvKey string
	pool               *x509.CertPool
	alice, stranger    tls.Certificate
	caCert             *x509.Certificate
	caKey              *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), pool: x509.NewCertPool()}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	p.caKey = newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.caCert, _ = x509.ParseCertificate(der)
	p.pool.AddCert(p.caCert)
	p.caFile = filepath.Join(p.dir, "ca.pem")
	_ = os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	issue := func(cn string, eku x509.ExtKeyUsage, uri string, ip bool) (tls.Certificate, []byte, []byte) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{eku}, KeyUsage: x509.KeyUsageDigitalSignature}
		if uri != "" {
			u, _ := url.Parse(uri)
			tmpl.URIs = []*url.URL{u}
		}
		if ip {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &k.PublicKey, p.caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalPKCS8PrivateKey(k)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c, certPEM, keyPEM
	}
	_, certPEM, keyPEM := issue("gw.test", x509.ExtKeyUsageServerAuth, "", true)
	p.serverCert, p.srvKey = filepath.Join(p.dir, "server.pem"), filepath.Join(p.dir, "server-key.pem")
	_ = os.WriteFile(p.serverCert, certPEM, 0o600)
	_ = os.WriteFile(p.srvKey, keyPEM, 0o600)
	p.alice, _, _ = issue("alice", x509.ExtKeyUsageClientAuth, "spiffe://test/alice", false)
	p.stranger, _, _ = issue("stranger", x509.ExtKeyUsageClientAuth, "spiffe://test/stranger", false)
	return p
}

// idp is an identity provider: a JWKS endpoint on loopback and the keys
// it signs with, which it can rotate.
type idp struct {
	*httptest.Server
	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey
	hits atomic.Int64
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	i := &idp{keys: map[string]*ecdsa.PrivateKey{}}
	i.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.hits.Add(1)
		i.mu.Lock()
		var keys []map[string]string
		for kid, k := range i.keys {
			pub, _ := k.PublicKey.Bytes()
			keys = append(keys, map[string]string{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
				"x": base64.RawURLEncoding.EncodeToString(pub[1:33]), "y": base64.RawURLEncoding.EncodeToString(pub[33:])})
		}
		i.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(i.Close)
	return i
}

// rotate publishes a new key under kid, keeping the others.
func (i *idp) rotate(t *testing.T, kid string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	i.keys[kid] = k
	i.mu.Unlock()
}

func (i *idp) token(t *testing.T, kid string, claims jwt.MapClaims) string {
	t.Helper()
	i.mu.Lock()
	k := i.keys[kid]
	i.mu.Unlock()
	if k == nil { // a key the provider never published
		k, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSecurityThroughGateway runs a YAML configuration with TLS, client
// certificates, a rotating JWKS, API keys, authorization and a rate limit
// on a real gateway.Server, and checks what clients and the upstream see.
func TestSecurityThroughGateway(t *testing.T) {
	pk := newPKI(t)
	provider := newIDP(t)
	provider.rotate(t, "k1")
	backend := newBackend(t, "orders")
	key := "gsk_through-the-gateway-0123456789"
	doc := fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
tls: {cert_file: %q, key_file: %q, client_ca_file: %q}
auth:
  jwt:
    idp:
      issuer: https://idp.test
      audiences: [orders]
      algorithms: [ES256]
      jwks_url: %q
      jwks_min_refresh: 1s
  forward: {consumer_id: X-Consumer-Id, method: X-Auth-Method, scopes: X-Consumer-Scopes}
consumers:
  - id: alice
    scopes: [orders:read]
    api_keys: [{id: alice-key, sha256: %s}]
    certificates: ["uri:spiffe://test/alice"]
upstreams:
  orders:
    instances: [%q]
routes:
  - name: orders
    path_prefix: /orders
    upstream: orders
    auth: {methods: [mtls, jwt, api_key]}
    authorize: {scopes: ["orders:read"]}
    rate_limit: [{rate: 3, per: 1m, key: consumer}]
`, pk.serverCert, pk.srvKey, pk.caFile, provider.URL, consumer.HashKey(key), backend.addr())
	loaded, err := config.Parse("sec.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(slog.New(slog.DiscardHandler)))
	t.Cleanup(rt.Close)
	gw, err := gateway.New(append(loaded.GatewayOptions(), gateway.WithRegistry(reg), gateway.WithLogger(slog.New(slog.DiscardHandler)))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	if err := loaded.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	tlsConfig, err := loaded.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv := &gateway.Server{Gateway: gw, Handler: gw, Listener: ln, TLSConfig: tlsConfig,
		DrainPeriod: time.Millisecond, ShutdownTimeout: time.Second, Logger: slog.New(slog.DiscardHandler),
		MaxHeaderBytes: loaded.Server.MaxHeaderBytes, ReadHeaderTimeout: loaded.Server.ReadHeaderTimeout}
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "https://" + ln.Addr().String()

	client := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: pk.pool}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	type result struct {
		code   int
		header http.Header
		body   string
	}
	call := func(c *http.Client, hdr ...string) result {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/orders/1", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{resp.StatusCode, resp.Header, string(b)}
	}
	claims := func(sub string, extra map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://idp.test", "aud": "orders", "sub": sub, "scope": "orders:read",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	anon := client(nil)

	// mTLS: the verified certificate is the identity; spoofed identity
	// headers never reach the upstream.
	r := call(client(&pk.alice), "X-Consumer-Id", "admin", "X_Consumer_Id", "admin")
	if seen := backend.last(); r.code != 200 || seen.Header.Get("X-Consumer-Id") != "alice" || seen.Header.Get("X-Auth-Method") != "mtls" ||
		len(seen.Header.Values("X-Consumer-Id")) != 1 || seen.Header.Get("X_Consumer_Id") != "" {
		t.Fatalf("mTLS: %d %s; upstream saw %v", r.code, r.body, seen.Header)
	}
	if r := call(client(&pk.stranger)); r.code != 401 || !strings.Contains(r.body, "unknown_certificate") {
		t.Errorf("a verified certificate of no consumer: %d %s", r.code, r.body)
	}

	// JWT from the JWKS.
	if r := call(anon, "Authorization", "Bearer "+provider.token(t, "k1", claims("bob", nil))); r.code != 200 ||
		backend.last().Header.Get("X-Consumer-Id") != "bob" || backend.last().Header.Get("X-Consumer-Scopes") != "orders:read" {
		t.Fatalf("JWT: %d %s", r.code, r.body)
	}
	r = call(anon, "Authorization", "Bearer "+provider.token(t, "k1", claims("bob", map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})))
	if r.code != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token", error_description="the token has expired"`) ||
		!strings.Contains(r.body, `"type":"urn:gatescale:auth:expired"`) {
		t.Errorf("expired JWT: %d %v %s", r.code, r.header, r.body)
	}
	// The provider rotates to k2: the first k2 token makes the gateway
	// refresh (within jwks_min_refresh of the last fetch it is refused).
	provider.rotate(t, "k2")
	k2 := provider.token(t, "k2", claims("carol", nil))
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := call(anon, "Authorization", "Bearer "+k2)
		if r.code == 200 {
			break
		}
		if !strings.Contains(r.body, "unknown_key") || time.Now().After(deadline) {
			t.Fatalf("token of the rotated-in key: %d %s", r.code, r.body)
		}
		time.Sleep(50 * time.Millisecond) // until jwks_min_refresh has passed
	}
	hits := provider.hits.Load()
	for range 5 { // made-up key ids: at most one more fetch per second
		call(anon, "Authorization", "Bearer "+provider.token(t, "made-up", claims("eve", nil)))
	}
	if extra := provider.hits.Load() - hits; extra > 1 {
		t.Errorf("tokens with unknown key ids caused %d JWKS fetches", extra)
	}

	// API key; the key is not sent upstream.
	if r := call(anon, "X-API-Key", key); r.code != 200 || backend.last().Header.Get("X-API-Key") != "" ||
		backend.last().Header.Get("X-Auth-Method") != "api_key" {
		t.Errorf("API key: %d %s %v", r.code, r.body, backend.last().Header)
	}

	// No credentials: one challenge per method that has one.
	r = call(anon)
	if ch := r.header.Values("WWW-Authenticate"); r.code != 401 || len(ch) != 3 {
		t.Errorf("no credentials: %d %q", r.code, ch)
	}
	// Authorization: a token without the scope.
	if r := call(anon, "Authorization", "Bearer "+provider.token(t, "k1", claims("dan", map[string]any{"scope": "other"}))); r.code != 403 ||
		!strings.Contains(r.body, "missing scope: orders:read") {
		t.Errorf("missing scope: %d %s", r.code, r.body)
	}
	// The per-consumer limit: bob has used 1 of 3.
	bob := provider.token(t, "k1", claims("bob", nil))
	call(anon, "Authorization", "Bearer "+bob)
	call(anon, "Authorization", "Bearer "+bob)
	r = call(anon, "Authorization", "Bearer "+bob)
	if r.code != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.header.Get("RateLimit"), `"orders";r=0`) {
		t.Errorf("4th request of bob in a minute: %d %v %s", r.code, r.header, r.body)
	}
	if got := metricValue(t, reg, "gatescale_auth_failures_total", "route", "orders", "reason", "expired"); got != 1 {
		t.Errorf("expired failures counted %v", got)
	}
	if got := metricValue(t, reg, "gatescale_ratelimit_rejected_total", "route", "orders", "policy", "orders"); got != 1 {
		t.Errorf("rate-limit rejections counted %v", got)
	}
}

// TestInputLimitsThroughServer runs the limits section on a real
// gateway.Server: oversized and overcounted headers get 431, a client
// that sends its headers slowly is cut off, a body over the limit gets
// 413 while it streams.
func TestInputLimitsThroughServer(t *testing.T) {
	backend := newBackend(t, "b")
	backend.handle(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return // the gateway cut the body off
		}
		fmt.Fprintf(w, "read %d", n)
	})
	loaded, err := config.Parse("limits.yaml", []byte(fmt.Sprintf(`limits:
  max_header_bytes: 4KiB
  max_header_count: 20
  read_header_timeout: 300ms
  max_body_bytes: 1KiB
upstreams:
  b:
    instances: [%q]
routes:
  - {name: up, path_prefix: /, upstream: b}
`, backend.addr())))
	if err != nil {
		t.Fatal(err)
	}
	rt := live.NewRuntime()
	t.Cleanup(rt.Close)
	built, err := loaded.Build(rt)
	if err != nil {
		t.Fatal(err)
	}
	gw, _, reg := newGateway(t, built.Gateway, loaded.GatewayOptions()...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := &gateway.Server{Gateway: gw, Handler: gw, Listener: ln, Logger: slog.New(slog.DiscardHandler),
		MaxHeaderBytes: loaded.Server.MaxHeaderBytes, ReadHeaderTimeout: loaded.Server.ReadHeaderTimeout,
		IdleTimeout: loaded.Server.IdleTimeout, DrainPeriod: time.Millisecond, ShutdownTimeout: time.Second}
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := ln.Addr().String()

	if code := rawRequest(t, addr, "GET", "/ok"); code != 200 {
		t.Fatalf("plain request: %d", code)
	}
	if code := rawRequest(t, addr, "GET", "/", "X-Big", strings.Repeat("a", 8<<10)); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("8 KiB header with a 4 KiB limit: %d, want 431", code)
	}
	var many []string
	for i := range 25 {
		many = append(many, fmt.Sprintf("X-H%d", i), "v")
	}
	if code := rawRequest(t, addr, "GET", "/", many...); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("25 headers with a limit of 20: %d, want 431", code)
	}
	// ...counted with the other refused requests, by reason.
	if n := metricValue(t, reg, "gatescale_http_refused_total", "reason", "too_many_headers"); n != 1 {
		t.Errorf("gatescale_http_refused_total{reason=too_many_headers} = %v, want 1", n)
	}

	// A body over the limit, sent chunked so nothing announces its size:
	// refused while streaming.
	body := strings.NewReader(strings.Repeat("x", 4<<10))
	req, _ := http.NewRequest("POST", "http://"+addr+"/upload", io.NopCloser(body))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("4 KiB chunked body with a 1 KiB limit: %d, want 413", resp.StatusCode)
	}

	// Slow headers: the connection is closed after read_header_timeout.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // and never the end of the header
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, conn)
	if elapsed := time.Since(start); err != nil || elapsed > 3*time.Second {
		t.Errorf("slow client: connection not closed by the server in time (%v after %v)", err, elapsed)
	}
}
