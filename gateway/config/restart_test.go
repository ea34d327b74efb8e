package config

import (
	"reflect"
	"testing"
)

func TestRestartRequired(t *testing.T) {
	const base = "upstreams: {u: {instances: [\"a:1\"]}}\nroutes: [{name: r, path: /, upstream: u}]\n"
	parse := func(extra string) *Loaded {
		t.Helper()
		l, err := Parse("f.yaml", []byte(base+extra))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	running := parse("listen: 127.0.0.1:8080\ntls: {cert_file: a.pem, key_file: a.key}\n")
	for _, c := range []struct {
		next string
		want []string
	}{
		{"tls: {cert_file: a.pem, key_file: a.key}\n", nil}, // listen left at its default
		{"tls: {cert_file: a.pem, key_file: a.key}\nlimits: {max_body_bytes: 1MiB}\ntrusted_proxies: [10.0.0.0/8]\n", nil},
		{"listen: :9000\ntls: {cert_file: a.pem, key_file: a.key}\n", []string{"listen"}},
		{"listen: :9000\nadmin_listen: :9001\ndrain_period: 1s\nshutdown_timeout: 2s\n", []string{"listen", "admin_listen", "drain_period", "shutdown_timeout", "tls"}},
		{"tls: {cert_file: b.pem, key_file: a.key, min_version: \"1.3\"}\n", []string{"tls.cert_file", "tls.min_version"}},
		{"tls: {cert_file: a.pem, key_file: a.key}\nlimits: {max_header_bytes: 1KiB, max_header_count: 10, read_header_timeout: 1s, idle_timeout: 1s}\n",
			[]string{"limits.max_header_bytes", "limits.max_header_count", "limits.read_header_timeout", "limits.idle_timeout"}},
		{"tls: {cert_file: a.pem, key_file: a.key}\ntracing: {endpoint: \"http://c:4317\"}\n", []string{"tracing"}},
	} {
		if got := RestartRequired(running, parse(c.next)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.next, got, c.want)
		}
	}
}
