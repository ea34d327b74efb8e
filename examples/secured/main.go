// Command secured runs a gateway with authentication, authorization and
// flow limits configured in YAML (gatescale.yaml next to this file), in
// front of a demo orders service, with a demo identity provider that
// publishes its signing key as a JWKS. It first walks through what each
// policy does to a series of requests, then keeps serving:
//
//	go run ./examples/secured                          # local rate limits
//	hack/redis-dev.sh 6390 &                           # a throwaway Redis
//	go run ./examples/secured -redis 127.0.0.1:6390    # limits shared through Redis
//
// See docs/security.md.
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/config"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/problem"
)

//go:embed gatescale.yaml
var configTemplate string

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8080", "gateway address")
	flag.StringVar(&o.redis, "redis", "", "Redis host:port for cluster-wide rate limits (default: in memory)")
	flag.BoolVar(&o.walkOnly, "walk-only", false, "exit after the walk-through")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	listen, redis string
	walkOnly      bool
}

// demo is what run starts: the orders backend, the identity provider and
// the gateway.
type demo struct {
	gatewayURL string
	apiKey     string
	idpKey     ed25519.PrivateKey
}

func run(ctx context.Context, o options, out io.Writer) error {
	d := &demo{}
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	serve := func(h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		closers = append(closers, func() { _ = srv.Close() })
		return ln.Addr().String(), nil
	}

	// The orders service echoes what it was asked and who the gateway says
	// is asking.
	backend, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orders service: %s %s for %s (%s) scopes=%q\n", r.Method, r.URL.Path,
			orNone(r.Header.Get("X-Consumer-Id")), orNone(r.Header.Get("X-Auth-Method")), r.Header.Get("X-Consumer-Scopes"))
	}))
	if err != nil {
		return err
	}
	// The identity provider publishes one Ed25519 key.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	d.idpKey = priv
	jwks, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "OKP", "crv": "Ed25519", "kid": "demo-1", "use": "sig", "x": base64.RawURLEncoding.EncodeToString(pub)}}})
	}))
	if err != nil {
		return err
	}
	// An API key for the billing service: only its hash goes in the file.
	key, hash := consumer.GenerateKey("gsk_")
	d.apiKey = key

	store, settings := "local", ""
	if o.redis != "" {
		store, settings = "redis", fmt.Sprintf("rate_limit:\n  redis: {addr: %q}\n", o.redis)
	}
	doc := strings.NewReplacer("$LISTEN", o.listen, "$ADMIN", "127.0.0.1:0", "$JWKS_URL", "http://"+jwks,
		"$KEY_HASH", hash.String(), "$BACKEND", backend, "$STORE", store, "$RATE_LIMIT_SETTINGS", settings).Replace(configTemplate)
	loaded, err := config.Parse("examples/secured/gatescale.yaml", []byte(doc))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.DiscardHandler)
	rt := live.NewRuntime(live.WithRegistry(reg), live.WithLogger(logger))
	closers = append(closers, rt.Close)
	tlsConfig, err := loaded.TLSConfig()
	if err != nil {
		return err
	}
	gw, err := gateway.New(append(loaded.GatewayOptions(), gateway.WithRegistry(reg), gateway.WithLogger(logger), gateway.WithAccessLog(false))...)
	if err != nil {
		return err
	}
	closers = append(closers, gw.Close)
	if err := loaded.Apply(ctx, gw, rt); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", loaded.Listen)
	if err != nil {
		return err
	}
	srvCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	srv := &gateway.Server{Gateway: gw, Handler: gw, Listener: ln, TLSConfig: tlsConfig,
		MaxHeaderBytes: loaded.Server.MaxHeaderBytes, ReadHeaderTimeout: loaded.Server.ReadHeaderTimeout,
		IdleTimeout: loaded.Server.IdleTimeout, DrainPeriod: time.Millisecond, ShutdownTimeout: time.Second, Logger: logger}
	go func() { done <- srv.Run(srvCtx) }()
	closers = append(closers, func() { cancel(); <-done })
	d.gatewayURL = "http://" + ln.Addr().String()

	if err := d.walk(out); err != nil {
		return err
	}
	if o.walkOnly {
		return nil
	}
	fmt.Fprintf(out, "\nServing on %s until Ctrl-C. Try:\n  curl -H 'X-API-Key: %s' %s/orders/7\n  curl -H 'Authorization: Bearer %s' %s/orders/7\n",
		d.gatewayURL, d.apiKey, d.gatewayURL, d.token("alice", time.Hour, "orders:read"), d.gatewayURL)
	<-ctx.Done()
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}

// token mints a token of the demo identity provider.
func (d *demo) token(sub string, ttl time.Duration, scope string, roles ...string) string {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "https://idp.example", "aud": "orders-api", "sub": sub, "scope": scope,
		"realm_access": map[string]any{"roles": roles},
		"iat":          time.Now().Unix(), "exp": time.Now().Add(ttl).Unix(),
	})
	t.Header["kid"] = "demo-1"
	s, err := t.SignedString(d.idpKey)
	if err != nil {
		panic(err) // an Ed25519 key always signs
	}
	return s
}

// step is one request of the walk-through.
type step struct {
	what, method, target string
	header               []string
}

func (d *demo) walk(out io.Writer) error {
	bob := "Bearer " + d.token("bob", time.Hour, "orders:read")
	steps := []step{
		{"no credentials", "GET", "/orders/1", nil},
		{"billing's API key", "GET", "/orders/1", []string{"X-API-Key", d.apiKey}},
		{"a wrong API key", "GET", "/orders/1", []string{"X-API-Key", "gsk_guessed"}},
		{"bob's token (orders:read)", "GET", "/orders/2", []string{"Authorization", bob}},
		{"bob tries to write", "POST", "/orders", []string{"Authorization", bob}},
		{"an expired token", "GET", "/orders/1", []string{"Authorization", "Bearer " + d.token("bob", -time.Hour, "orders:read")}},
		{"a token with alg none", "GET", "/orders/1", []string{"Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwic3ViIjoiZXZlIn0."}},
		{"spoofing X-Consumer-Id", "GET", "/orders/3", []string{"Authorization", bob, "X-Consumer-Id", "admin"}},
		{"the admin route, as bob", "GET", "/admin/stats", []string{"Authorization", bob}},
		{"the admin route, as an admin", "GET", "/ADMIN/Stats", []string{"Authorization", "Bearer " + d.token("ann", time.Hour, "", "admin")}},
		{"the admin route by another path", "GET", "/public/../admin/stats", nil},
		{"...with an encoded slash", "GET", "/admin%2fstats", nil},
		{"...with an overlong UTF-8 slash", "GET", "/%c0%afadmin/stats", nil},
		{"a public page", "GET", "/hello", nil},
		{"bob's 3rd order request this minute", "GET", "/orders/4", []string{"Authorization", bob}},
		{"bob's 4th", "GET", "/orders/5", []string{"Authorization", bob}},
		{"bob's 5th (the limit is 4 a minute)", "GET", "/orders/6", []string{"Authorization", bob}},
	}
	addr := strings.TrimPrefix(d.gatewayURL, "http://")
	for _, s := range steps {
		code, hdr, body, err := rawGet(addr, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-36s %s %-24s → %d %s\n", s.what+":", s.method, s.target, code, summary(code, hdr, body))
	}
	return nil
}

// rawGet sends the request line as written (a Go client would clean the
// path first), and returns status, headers and body.
func rawGet(addr string, s step) (int, http.Header, string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, nil, "", err
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n", s.method, s.target)
	for i := 0; i+1 < len(s.header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", s.header[i], s.header[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return 0, nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body), err
}

// summary is the interesting part of a response: the backend's line, or
// the gateway's reason.
func summary(code int, hdr http.Header, body string) string {
	if hdr.Get("Content-Type") != problem.ContentType {
		return strings.TrimSpace(body)
	}
	var p problem.Details
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return body
	}
	out := p.Detail
	if i := strings.LastIndexByte(p.Type, ':'); i >= 0 {
		out = p.Type[i+1:] + ": " + out
	}
	if code == http.StatusTooManyRequests {
		out += " (Retry-After: " + hdr.Get("Retry-After") + ")"
	}
	return out
}
