package bench

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Peer versions: what hack/build-peers.sh builds into PeersDir.
const (
	CaddyVersion   = "v2.11.9"
	TraefikVersion = "v3.6.12"
	LuraVersion    = "v2.14.1"
)

// The path every target is asked for: a route with a path parameter, so
// that the peers that need an explicit pattern (lura) and the composite
// route get the same request.
const requestPath = "/users/42"

// Target is one thing the harness measures.
type Target struct {
	// Name is the row label in the report.
	Name string
	// GoPeer marks the peers built from the Go module proxy (Caddy,
	// Traefik, lura): the smoke run leaves them out.
	GoPeer bool
	// Peer marks a target that gatescale is compared with.
	Peer bool
	// Note says what the target is and how it is configured.
	Note string
	// command returns the process to start for a target listening on
	// addr in front of backend (nil: the target is the backend itself),
	// or a reason it cannot run ("not built").
	command func(e *env, addr string) (*exec.Cmd, string)
}

// env is what a target's command needs.
type env struct {
	self        string // this binary, re-executed in a role
	dir         string // per-run scratch directory
	peers       string // where hack/build-peers.sh puts binaries
	backend     string // host:port
	procs       int    // cores given to the target
	secret      string // HS256 secret of the full chain's issuer
	backendProc *proc
	profile     string // directory for the gatescale targets' pprof files
	profileRun  int
}

// Targets lists every target in report order.
func Targets() []Target {
	return []Target{
		{Name: "direct", Note: "the backend without a proxy: the physical limit"},
		{Name: "nginx", Peer: true, Note: "Debian nginx-light; upstream keepalive 256, proxy_http_version 1.1, access_log off", command: nginxCmd},
		{Name: "caddy", Peer: true, GoPeer: true, Note: "Caddy " + CaddyVersion + " reverse_proxy, keepalive_idle_conns_per_host 256, no log directive (access log off)", command: caddyCmd},
		{Name: "traefik", Peer: true, GoPeer: true, Note: "Traefik " + TraefikVersion + " file provider, one router PathPrefix(`/`), maxIdleConnsPerHost 256, no accessLog", command: traefikCmd},
		{Name: "lura", Peer: true, GoPeer: true, Note: "lura " + LuraVersion + " (KrakenD CE engine), gin router, no-op encoding, disable_access_log", command: luraCmd},
		{Name: "bare-proxy", Peer: true, Note: "httputil.ReverseProxy, MaxIdleConnsPerHost 256", command: bareCmd},
		{Name: "gatescale-routing", Note: "gatescale: route table + p2c balancer + request id + metrics; access log off", command: gatescaleCmd("routing", false)},
		{Name: "gatescale-full", Note: "gatescale: JWT (HS256) authn + authz (scope) + local rate limit per consumer (high) + passive health + metrics + round-robin static balancer + access log (JSON to /dev/null)", command: gatescaleCmd("full", true)},
		{Name: "gatescale-compose", Note: "gatescale composite route: two concurrent calls to the backend merged into one JSON answer; access log off", command: gatescaleCmd("compose", false)},
	}
}

func roleCmd(e *env, role string, extra ...string) *exec.Cmd {
	cmd := exec.Command(e.self)
	cmd.Env = append(os.Environ(), envRole+"="+role, "GOMAXPROCS="+strconv.Itoa(e.procs))
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

func bareCmd(e *env, addr string) (*exec.Cmd, string) {
	return roleCmd(e, "bare", envListen+"="+addr, envBackend+"="+e.backend), ""
}

func gatescaleCmd(kind string, accessLog bool) func(e *env, addr string) (*exec.Cmd, string) {
	return func(e *env, addr string) (*exec.Cmd, string) {
		admin, err := freeAddr()
		if err != nil {
			return nil, err.Error()
		}
		file := filepath.Join(e.dir, "gatescale-"+kind+".yaml")
		if err := os.WriteFile(file, []byte(gatescaleYAML(kind, addr, admin, e.backend)), 0o600); err != nil {
			return nil, err.Error()
		}
		al := "0"
		if accessLog {
			al = "1"
		}
		extra := []string{envConfig + "=" + file, envAccessLog + "=" + al, envJWTSecret + "=" + e.secret}
		if e.profile != "" {
			e.profileRun++
			extra = append(extra, envProfile+"="+filepath.Join(e.profile, fmt.Sprintf("gatescale-%s-%02d", kind, e.profileRun)))
		}
		return roleCmd(e, "gatescale", extra...), ""
	}
}

// gatescaleYAML is the configuration file of one gatescale target.
func gatescaleYAML(kind, addr, admin, backend string) string {
	head := fmt.Sprintf("listen: %s\nadmin_listen: %s\n", addr, admin)
	switch kind {
	case "full":
		return head + FullChainYAML(backend)
	case "compose":
		return head + fmt.Sprintf(`upstreams:
  backend:
    instances: [%s]
routes:
  - name: users
    path: /users/{id}
    composite:
      calls:
        - {name: user, upstream: backend, path: "/users/{id}"}
        - {name: again, upstream: backend, path: "/users/{id}", group: again}
`, backend)
	default:
		return head + fmt.Sprintf(`upstreams:
  backend:
    instances: [%s]
routes:
  - name: users
    path_prefix: /
    upstream: backend
`, backend)
	}
}

// FullChainYAML is the body of the full-chain target's configuration (no
// listeners): JWT (HS256, its secret in the environment variable
// FullChainSecretEnv) + scope authorization + a per-consumer local limit +
// passive health, one route to backend. The in-process benchmark of the
// gateway's own share (gateway.BenchmarkGatewayShare/full) loads it too,
// so both measure the same chain.
func FullChainYAML(backend string) string {
	return fmt.Sprintf(`auth:
  jwt:
    bench:
      issuer: %s
      audiences: [bench]
      algorithms: [HS256]
      secret_env: %s
upstreams:
  backend:
    instances: [%s]
    balancer: round_robin
    passive_health: {}
routes:
  - name: users
    path_prefix: /
    upstream: backend
    auth: {methods: [jwt]}
    authorize: {scopes: ["bench:read"]}
    rate_limit:
      - {rate: 100000000, per: 1s, key: consumer}
`, jwtIssuer, FullChainSecretEnv, backend)
}

// FullChainSecretEnv names the environment variable holding the HS256
// secret of the full chain's issuer.
const FullChainSecretEnv = envJWTSecret

const jwtIssuer = "https://bench.gatescale.test"

// FullChainToken is an HS256 token, signed with secret, that the full
// chain accepts (valid for a day); every target is sent it, so that all
// requests are the same size.
func FullChainToken(secret string) string {
	enc := base64.RawURLEncoding
	hdr := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"iss": jwtIssuer, "aud": "bench", "sub": "bench-client", "scope": "bench:read",
		"iat": time.Now().Unix(), "exp": time.Now().Add(24 * time.Hour).Unix(),
	})
	msg := hdr + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg))
	return msg + "." + enc.EncodeToString(mac.Sum(nil))
}

func peerBinary(e *env, name, version string) (string, string) {
	p := filepath.Join(e.peers, name+"-"+version)
	if _, err := os.Stat(p); err != nil {
		return "", "not built (hack/build-peers.sh " + name + ")"
	}
	return p, ""
}

func nginxCmd(e *env, addr string) (*exec.Cmd, string) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			return nil, "not installed (hack/install-debs.sh nginx-light)"
		}
	}
	dir := filepath.Join(e.dir, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err.Error()
	}
	tmp := filepath.Join(dir, "tmp")
	conf := fmt.Sprintf(`daemon off;
worker_processes %d;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fastcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  upstream backend { server %s; keepalive 256; }
  server {
    listen %s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, e.procs, dir, dir, tmp, tmp, tmp, tmp, tmp, e.backend, addr)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err.Error()
	}
	return exec.Command(bin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", file), ""
}

func caddyCmd(e *env, addr string) (*exec.Cmd, string) {
	bin, why := peerBinary(e, "caddy", CaddyVersion)
	if bin == "" {
		return nil, why
	}
	dir := filepath.Join(e.dir, "caddy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err.Error()
	}
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}
http://%s {
	bind 127.0.0.1
	reverse_proxy %s {
		transport http {
			keepalive 90s
			keepalive_idle_conns_per_host 256
		}
	}
}
`, addr, e.backend)
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err.Error()
	}
	cmd := exec.Command(bin, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(e.procs), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir, "HOME="+dir)
	return cmd, ""
}

func traefikCmd(e *env, addr string) (*exec.Cmd, string) {
	bin, why := peerBinary(e, "traefik", TraefikVersion)
	if bin == "" {
		return nil, why
	}
	dir := filepath.Join(e.dir, "traefik")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err.Error()
	}
	dyn := filepath.Join(dir, "dynamic.yml")
	static := fmt.Sprintf(`global: {checkNewVersion: false, sendAnonymousUsage: false}
entryPoints:
  web: {address: "%s"}
providers:
  file: {filename: "%s", watch: false}
log: {level: ERROR}
serversTransport: {maxIdleConnsPerHost: 256}
`, addr, dyn)
	dynamic := fmt.Sprintf("http:\n  routers:\n    r: {rule: \"PathPrefix(`/`)\", service: s, entryPoints: [web]}\n  services:\n    s: {loadBalancer: {servers: [{url: \"http://%s\"}]}}\n", e.backend)
	file := filepath.Join(dir, "traefik.yml")
	if err := os.WriteFile(file, []byte(static), 0o644); err != nil {
		return nil, err.Error()
	}
	if err := os.WriteFile(dyn, []byte(dynamic), 0o644); err != nil {
		return nil, err.Error()
	}
	cmd := exec.Command(bin, "--configFile="+file)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(e.procs), "HOME="+dir)
	return cmd, ""
}

func luraCmd(e *env, addr string) (*exec.Cmd, string) {
	bin, why := peerBinary(e, "lura", LuraVersion)
	if bin == "" {
		return nil, why
	}
	host, port, _ := strings.Cut(addr, ":")
	p, _ := strconv.Atoi(port)
	cfg := map[string]any{
		"version": 3, "port": p, "listen_ip": host, "timeout": "10s",
		"max_idle_connections_per_host": 256,
		"extra_config": map[string]any{
			"github_com/luraproject/lura/router/gin": map[string]any{"disable_access_log": true},
		},
		"endpoints": []any{map[string]any{
			"endpoint": "/users/{id}", "method": "GET", "output_encoding": "no-op",
			"backend": []any{map[string]any{
				"url_pattern": "/users/{id}", "host": []string{"http://" + e.backend}, "encoding": "no-op",
			}},
		}},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	file := filepath.Join(e.dir, "lura.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return nil, err.Error()
	}
	cmd := exec.Command(bin, "-c", file)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(e.procs), "GIN_MODE=release")
	return cmd, ""
}
