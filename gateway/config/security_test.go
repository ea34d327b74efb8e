package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/problem"
)

// writeCert writes a self-signed certificate and its key as PEM files in
// dir and returns their paths.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gw"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

const securityDoc = `tls:
  cert_file: CERT
  key_file: KEY
  client_ca_file: CERT
  client_auth: request
  min_version: "1.3"
limits:
  max_header_bytes: 32KiB
  max_header_count: 50
  read_header_timeout: 5s
  idle_timeout: 1m
  max_body_bytes: 1MiB
auth:
  realm: shop
  api_key: {header: X-Key, query: key}
  jwt:
    corp:
      issuer: https://idp.test
      audiences: [shop]
      algorithms: [HS256]
      secret_env: GATESCALE_TEST_SECRET
      leeway: 5s
      roles_claim: realm_access.roles
  forward: {consumer_id: X-Consumer-Id, scopes: X-Consumer-Scopes}
consumers:
  - id: alice
    scopes: [orders:read]
    api_keys: [{id: alice-1, sha256: HASH}]
    certificates: ["cn:alice"]
upstreams:
  shop:
    instances: [BACKEND]
routes:
  - name: orders
    path_prefix: /orders
    case_insensitive: true
    auth: {methods: [jwt, api_key, mtls]}
    authorize:
      scopes: [orders:read]
      methods:
        GET: {}
        post: {roles: [clerk]}
    rate_limit:
      - {name: orders-ip, rate: 100, per: 1s, burst: 10, key: ip}
      - {rate: 2, per: 1m, key: consumer}
    concurrency: {max: 5, key: consumer}
  - name: public
    path_prefix: /
    upstream: shop
    auth: {methods: [api_key], anonymous: true}
`

func TestSecurityParseAndBuild(t *testing.T) {
	t.Setenv("GATESCALE_TEST_SECRET", "0123456789abcdef0123456789abcdef")
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path+" id="+r.Header.Get("X-Consumer-Id")+" scopes="+r.Header.Get("X-Consumer-Scopes")+" key="+r.Header.Get("X-Key"))
	}))
	defer backend.Close()
	key := "gsk_config-test-key-0123456789abcdef"
	doc := strings.NewReplacer("CERT", certFile, "KEY", keyFile, "HASH", consumer.HashKey(key).String(),
		"BACKEND", strings.TrimPrefix(backend.URL, "http://")).Replace(securityDoc)
	doc = strings.Replace(doc, "    path_prefix: /orders\n", "    path_prefix: /orders\n    upstream: shop\n", 1)
	l, err := Parse("sec.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if want := (ServerSettings{MaxHeaderBytes: 32 << 10, MaxHeaderCount: 50, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}); l.Server != want {
		t.Errorf("server settings %+v, want %+v", l.Server, want)
	}
	if r := liveConfig(t, l).Routes[0]; !r.CaseInsensitive || r.MaxBodyBytes != 1<<20 {
		t.Errorf("route settings %+v", r)
	}

	// The declared routes alone are refused: gateway.Apply does not serve
	// a route's policies unbuilt.
	gw, err := gateway.New(append(l.GatewayOptions(), gateway.WithAccessLog(false))...)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	unbuilt := liveConfig(t, l)
	unbuilt.Routes[0].Route = l.Spec.Routes[0]
	if err := gw.Apply(context.Background(), unbuilt); err == nil || !strings.Contains(err.Error(), "routes[0]: has auth, authorize, rate_limit, concurrency or ip_access settings") {
		t.Fatalf("unbuilt route: %v", err)
	}

	reg := prometheus.NewRegistry()
	rt := live.NewRuntime(live.WithRegistry(reg))
	defer rt.Close()
	if err := l.Check(rt); err != nil {
		t.Fatalf("Check: %v", err)
	}
	tlsConfig, err := l.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tlsConfig == nil || tlsConfig.MinVersion != tls.VersionTLS13 || tlsConfig.ClientAuth != tls.VerifyClientCertIfGiven ||
		tlsConfig.ClientCAs == nil || tlsConfig.GetCertificate == nil {
		t.Fatalf("TLS config %+v", tlsConfig)
	}
	if err := l.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = gw
	tok := func(sub string, roles ...string) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "https://idp.test", "aud": "shop", "sub": sub,
			"scope": "orders:read", "realm_access": map[string]any{"roles": roles}, "exp": time.Now().Add(time.Hour).Unix()}).
			SignedString([]byte("0123456789abcdef0123456789abcdef"))
		return s
	}
	serve := func(method, target string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.RemoteAddr = "192.0.2.1:1234"
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	cases := []struct {
		name   string
		rec    *httptest.ResponseRecorder
		code   int
		substr string
	}{
		{"no credentials", serve("GET", "/orders/1"), 401, "missing_credentials"},
		{"jwt, case-insensitive path, spoofed identity", serve("GET", "/ORDERS/1", "Authorization", "Bearer "+tok("bob"), "X-Consumer-Id", "admin"), 200,
			"/orders/1 id=bob scopes=orders:read key="},
		{"api key in the query is stripped", serve("GET", "/orders/2?key="+key), 200, "/orders/2 id=alice scopes=orders:read key="},
		{"post needs the role", serve("POST", "/orders/1", "Authorization", "Bearer "+tok("carol")), 403, "missing_role"},
		{"post with the role", serve("POST", "/orders/1", "Authorization", "Bearer "+tok("carol", "clerk")), 200, "id=carol"},
		{"unlisted method", serve("DELETE", "/orders/1", "Authorization", "Bearer "+tok("carol", "clerk")), 403, "method_not_allowed"},
		{"second request of bob", serve("GET", "/orders/1", "Authorization", "Bearer "+tok("bob")), 200, "id=bob"},
		{"per-consumer limit of 2 per minute", serve("GET", "/orders/1", "Authorization", "Bearer "+tok("bob")), 429, "ratelimit:exceeded"},
		{"anonymous on the public route, spoofed identity stripped", serve("GET", "/x", "X-Consumer-Id", "admin"), 200, "/x id= scopes="},
		{"too many headers", serve("GET", "/x", manyHeaders(60)...), 431, "header fields"},
	}
	for _, c := range cases {
		if c.rec.Code != c.code || !strings.Contains(c.rec.Body.String(), c.substr) {
			t.Errorf("%s: %d %q; want %d containing %q", c.name, c.rec.Code, c.rec.Body, c.code, c.substr)
		}
	}
	if got := strings.Join(serve("GET", "/orders/1", "X-Key", key).Header().Values("RateLimit-Policy"), ", "); !strings.Contains(got, `"orders-ip";q=100;w=1`) ||
		!strings.Contains(got, `"orders#2";q=2;w=60`) {
		t.Errorf("RateLimit-Policy %q", got)
	}
	var body problem.Details
	_ = json.Unmarshal(serve("GET", "/orders/1").Body.Bytes(), &body)
	if body.Route != "orders" {
		t.Errorf("problem body %+v", body)
	}

	// A second Build keeps local buckets: bob is still limited.
	if err := l.Apply(context.Background(), gw, rt); err != nil {
		t.Fatal(err)
	}
	if rec := serve("GET", "/orders/1", "Authorization", "Bearer "+tok("bob")); rec.Code != 429 {
		t.Errorf("after a rebuild bob got %d: the bucket was reset", rec.Code)
	}
	mfs, _ := reg.Gather()
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"gatescale_auth_failures_total", "gatescale_authz_denied_total", "gatescale_ratelimit_rejected_total"} {
		if !names[n] {
			t.Errorf("metric %s not registered or never incremented", n)
		}
	}
}

func manyHeaders(n int) []string {
	var out []string
	for i := range n {
		out = append(out, "X-Junk-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "x")
	}
	return out
}

func TestSecurityParseErrors(t *testing.T) {
	const ups = "upstreams:\n  u:\n    instances: [127.0.0.1:9001]\n"
	route := func(fields string) string {
		return ups + "routes:\n  - name: r\n    path: /\n    upstream: u\n" + fields
	}
	jwtAuth := "auth:\n  jwt:\n    corp: {issuer: i, audiences: [a], algorithms: [RS256], jwks_url: \"https://idp/jwks\"}\n"
	consumers := "consumers:\n  - {id: a}\n"
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"route auth without methods", route("    auth: {anonymous: true}\n"), "t.yaml:8:5: routes[0].auth.methods: at least one method is required (jwt, api_key, mtls)"},
		{"unknown method", route("    auth: {methods: [basic]}\n"), `t.yaml:8:22: routes[0].auth.methods[0]: "basic" is not an authentication method (jwt, api_key, mtls)`},
		{"jwt without issuers", route("    auth: {methods: [jwt]}\n"), "t.yaml:8:22: routes[0].auth.methods[0]: jwt needs issuers under auth.jwt"},
		{"api_key without consumers", route("    auth: {methods: [api_key]}\n"), "routes[0].auth.methods[0]: api_key needs consumers"},
		{"mtls without tls", consumers + route("    auth: {methods: [mtls]}\n"), "routes[0].auth.methods[0]: mtls needs tls with client_ca_file"},
		{"unknown issuer", jwtAuth + route("    auth: {methods: [jwt], issuers: [corpp]}\n"), `routes[0].auth.issuers[0]: "corpp" is not an issuer under auth.jwt (defined: corp)`},
		{"authorize without auth", route("    authorize: {scopes: [x]}\n"), "t.yaml:8:16: routes[0].authorize: authorize needs auth on the route"},
		{"authorize anonymous with scopes", consumers + route("    auth: {methods: [api_key], anonymous: true}\n    authorize: {anonymous: true, scopes: [x]}\n"),
			"routes[0].authorize.anonymous: anonymous admits everyone"},
		{"authorize bad method", consumers + route("    auth: {methods: [api_key]}\n    authorize: {methods: {FETCH: {}}}\n"), `routes[0].authorize.methods.FETCH: "FETCH" is not a method`},
		{"anonymous rule without anonymous auth", consumers + route("    auth: {methods: [api_key]}\n    authorize: {methods: {GET: {anonymous: true}}}\n"),
			"routes[0].auth.anonymous: authorize admits anonymous callers, but auth refuses them"},
		{"rate 0", route("    rate_limit: [{rate: 0}]\n"), "routes[0].rate_limit[0].rate: must be at least 1"},
		{"per below a second", route("    rate_limit: [{rate: 5, per: 500ms}]\n"), "routes[0].rate_limit[0].per: must be a whole number of seconds"},
		{"burst 0", route("    rate_limit: [{rate: 5, burst: 0}]\n"), "routes[0].rate_limit[0].burst: must be at least 1 (default: rate)"},
		{"bad key", route("    rate_limit: [{rate: 5, key: user}]\n"), `routes[0].rate_limit[0].key: "user" is not route, ip, consumer, api_key or header:NAME`},
		{"consumer key without auth", route("    rate_limit: [{rate: 5, key: consumer}]\n"), "routes[0].rate_limit[0].key: key consumer needs auth on the route"},
		{"redis store without redis", route("    rate_limit: [{rate: 5, store: redis}]\n"), "routes[0].rate_limit[0].store: store redis needs rate_limit.redis at the top level"},
		{"failure mode on local", route("    rate_limit: [{rate: 5, failure_mode: closed}]\n"), "routes[0].rate_limit[0].failure_mode: is only used with store: redis"},
		{"bad failure mode", "rate_limit: {redis: {addr: \"127.0.0.1:6379\"}}\n" + route("    rate_limit: [{rate: 5, store: redis, failure_mode: shut}]\n"),
			`routes[0].rate_limit[0].failure_mode: "shut" is not open or closed`},
		{"duplicate policy name", route("    rate_limit: [{name: p, rate: 5}, {name: p, rate: 6}]\n"), `routes[0].rate_limit[1].name: "p" is already the name of rate_limit[0]`},
		{"shared name, other settings", ups + "routes:\n  - {name: a, path: /a, upstream: u, rate_limit: [{name: p, rate: 5}]}\n  - {name: b, path: /b, upstream: u, rate_limit: [{name: p, rate: 6}]}\n",
			`routes[1].rate_limit[0]: policy "p" is also defined at routes[0].rate_limit[0] with other settings`},
		{"rate finer than a nanosecond", route("    rate_limit: [{rate: 2000000000}]\n"), "routes[0].rate_limit[0]: rate 2000000000 per 1s is finer than a nanosecond"},
		{"burst beyond a duration", route("    rate_limit: [{rate: 1, per: 8760h, burst: 1000}]\n"), "routes[0].rate_limit[0]: burst 1000"},
		{"consumer rate finer than a nanosecond", "consumers:\n  - {id: a, rate_limit: [{rate: 2000000000}]}\n", "consumers[0].rate_limit[0].rate: 2000000000 per 1s is more than one request a nanosecond"},
		{"concurrency 0", route("    concurrency: {max: 0}\n"), "routes[0].concurrency.max: must be at least 1"},
		{"issuer none", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [none], secret_env: S}\n", "auth.jwt.x.algorithms[0]: none is never accepted"},
		{"issuer mixed", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [RS256, HS256], jwks_url: \"https://i/k\"}\n", "auth.jwt.x.algorithms: HMAC (HS*) and public-key algorithms must not be mixed"},
		{"issuer without audience", "auth:\n  jwt:\n    x: {issuer: i, algorithms: [RS256], jwks_url: \"https://i/k\"}\n", "auth.jwt.x.audiences: at least one audience is required"},
		{"issuer two sources", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [RS256], jwks_url: \"https://i/k\", keys_file: k.pem}\n", "auth.jwt.x.keys_file: has jwks_url and keys_file: set exactly one key source"},
		{"issuer no source", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [RS256]}\n", "auth.jwt.x: needs one key source"},
		{"HS with public keys", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [HS256], keys_file: k.pem}\n", "auth.jwt.x.keys_file: HS* algorithms need a secret"},
		{"RS with a secret", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [RS256], secret_env: S}\n", "auth.jwt.x.secret_env: public-key algorithms need jwks_url or keys_file"},
		{"bad jwks url", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [RS256], jwks_url: \"ftp://x\"}\n", `auth.jwt.x.jwks_url: "ftp://x" is not an http(s) URL`},
		{"refresh without url", "auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [RS256], keys_file: k.pem, jwks_refresh: 1m}\n", "auth.jwt.x.jwks_refresh: is only used with jwks_url"},
		{"same iss twice", "auth:\n  jwt:\n    a: {issuer: i, audiences: [a], algorithms: [HS256], secret_env: S}\n    b: {issuer: i, audiences: [a], algorithms: [HS256], secret_env: S}\n", `auth.jwt.b.issuer: "i" is already the issuer of auth.jwt.a`},
		{"forward reserved header", "auth: {forward: {consumer_id: Authorization}}\n", `auth.forward.consumer_id: "Authorization" is a header the gateway or HTTP itself manages`},
		{"forward duplicate", "auth: {forward: {consumer_id: X-Id, scopes: x_id}}\n", `auth.forward.scopes: "x_id" is already used by consumer_id`},
		{"consumers and file", "auth: {consumers_file: c.yaml}\n" + consumers, "auth.consumers_file: consumers_file and a top-level consumers list are exclusive"},
		{"consumer problems", "consumers:\n  - {id: a, api_keys: [{id: k, sha256: nothex}]}\n  - {id: a}\n",
			`t.yaml:3:10: consumers[1].id: "a" is already used`},
		{"consumer bad hash", "consumers:\n  - {id: a, api_keys: [{id: k, sha256: nothex}]}\n", `consumers[0].api_keys[0].sha256: "nothex" is not a hex SHA-256`},
		{"consumer unknown key", "consumers:\n  - {id: a, rolez: [x]}\n", "consumers[0].rolez: unknown key (did you mean roles?)"},
		{"tls without key", "tls: {cert_file: c.pem}\n", "tls.key_file: is required with tls"},
		{"tls require without ca", "tls: {cert_file: c.pem, key_file: k.pem, client_auth: require}\n", "tls.client_ca_file: is required with client_auth: require"},
		{"tls version", "tls: {cert_file: c.pem, key_file: k.pem, min_version: \"1.0\"}\n", `tls.min_version: "1.0" is not "1.2" or "1.3"`},
		{"limits", "limits: {max_header_bytes: 100, max_header_count: 0, read_header_timeout: 0}\n", "limits.max_header_bytes: must be at least 1KiB"},
		{"redis addr", "rate_limit: {redis: {addr: nowhere}}\n", `rate_limit.redis.addr: "nowhere" is not host:port`},
		{"realm quote", "auth: {realm: 'a\"b'}\n", "auth.realm:"},
		{"unquoted scope in a flow list", consumers + route("    auth: {methods: [api_key]}\n    authorize: {scopes: [orders:read]}\n"),
			`routes[0].authorize.scopes[0]: expected a string, got the mapping {orders:read}: inside {...} quote values with a colon, as in "orders:read"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n  %v\nwant it to contain\n  %s", err, tt.want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "t.yaml:") {
					t.Errorf("line %q does not start with the file name", line)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	doc := `auth:
  consumers_file: ` + filepath.Join(dir, "missing.yaml") + `
  jwt:
    files:
      issuer: https://a
      audiences: [x]
      algorithms: [RS256]
      keys_file: ` + filepath.Join(dir, "nokeys.pem") + `
    env:
      issuer: https://b
      audiences: [x]
      algorithms: [HS256]
      secret_env: GATESCALE_TEST_UNSET
tls:
  cert_file: ` + filepath.Join(dir, "c.pem") + `
  key_file: ` + filepath.Join(dir, "k.pem") + `
`
	t.Setenv("GATESCALE_TEST_UNSET", "")
	l, err := Parse("b.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rt := live.NewRuntime()
	defer rt.Close()
	err = l.Check(rt)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"b.yaml:2:19: auth.consumers_file: open ",
		"b.yaml:8:18: auth.jwt.files.keys_file: open ",
		"b.yaml:13:19: auth.jwt.env.secret_env: the environment variable GATESCALE_TEST_UNSET is empty or unset",
		"b.yaml:15:14: tls.cert_file: open ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors do not contain %q:\n%v", want, err)
		}
	}
	// A secret that is too short is caught when read.
	t.Setenv("GATESCALE_TEST_UNSET", "short")
	if err := l.Check(rt); err == nil || !strings.Contains(err.Error(), "auth.jwt.env: HMAC secret of 5 bytes is too short") {
		t.Errorf("short secret: %v", err)
	}
}

// A certificate rotated on disk (cert-manager writes new files) is served to
// new handshakes without a restart, and no request fails meanwhile.
func TestTLSRotationUnderLoad(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	doc := "tls:\n  cert_file: " + certFile + "\n  key_file: " + keyFile + "\nupstreams:\n  u: {instances: [\"a:1\"]}\nroutes:\n  - {name: r, path_prefix: /, upstream: u}\n"
	l, err := Parse("t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	serial := func() (string, error) {
		// A new connection each time: a new handshake.
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test reads the served certificate
		resp, err := c.Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.String(), nil
	}
	first, err := serial()
	if err != nil || first != "1" {
		t.Fatalf("serial %q, %v", first, err)
	}
	// Rotate: a new key and certificate (serial 2) replace the files the
	// way cert-manager's volume does, by renaming over them.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gw"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	_ = os.WriteFile(certFile+".new", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile+".new", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	if err := os.Rename(keyFile+".new", keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certFile+".new", certFile); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	requests, failures := 0, 0
	for {
		s, err := serial()
		requests++
		if err != nil {
			failures++
			t.Errorf("request %d during the rotation: %v", requests, err)
		}
		if s == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving serial %s after 10s", s)
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d requests failed during the rotation", failures, requests)
	}
}
