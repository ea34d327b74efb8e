package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that it returns either a
// Loaded or an error whose every line starts with the file name.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "gatescale.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		fullDoc,
		"",
		"listen: :8080\n",
		"upstreams:\n  a:\n    instances: [a:1]\nroutes:\n  - {name: r, path: /, upstream: a}\n",
		"upstreams:\n  a:\n    instances: [a:1]\n  a:\n    instances: [b:1]\n",
		"routes:\n  - name: r\n    path: /a/{id\n    upstream: x\n",
		"x-a: &a {balancer: hash, hash: {header: X}}\nupstreams:\n  u:\n    <<: *a\n    instances: [a:1]\n",
		"routes: &r [*r]\n",
		"upstreams: {u: {instances: [a:1]}}\n",
		"listen: *nope\n",
		"a: 1\n---\nb: 2\n",
		"routes:\n  -\n  - 5\n  - [x]\n",
		"drain_period: 5\nshutdown_timeout: 1QB\n",
		"upstreams:\n  u:\n    instances: [{addr: a:1, weight: 99999999999999999999}]\n",
		"routes: [\n",
		"\t: 1\n",
		"? [a, b]\n: c\n",
		"!!map {listen: !!str :1}\n",
		securityDoc,
		"auth:\n  jwt:\n    x: {issuer: i, audiences: [a], algorithms: [RS256, none], jwks_url: \"https://i/k\"}\n",
		"consumers:\n  - {id: a, api_keys: [{id: k, sha256: zz}], certificates: [\"cn:\"]}\n  - {id: a}\n",
		"upstreams: {u: {instances: [\"a:1\"]}}\nroutes:\n  - {name: r, path: /, upstream: u, auth: {methods: [jwt]}, authorize: {methods: {get: {anonymous: true, scopes: [x]}}}, rate_limit: [{rate: 0, key: \"header:\"}], concurrency: {max: -1}}\n",
		"rate_limit: {redis: {addr: \":\", db: -1}}\nlimits: {max_header_bytes: 1TiB, max_header_count: 0}\ntls: {client_auth: maybe}\n",
		"route_shadowing: refuse\nupstreams: {u: {instances: [\"a:1\"]}}\nroutes:\n  - {name: a, path: /Admin/{id}, upstream: u, auth: {methods: [mtls]}, shadowing_accepted: [b]}\n  - {name: b, path_prefix: /, strip_prefix: /x, upstream: u}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz.yaml", data)
		if err == nil {
			if l == nil {
				t.Fatal("nil Loaded without an error")
			}
			return
		}
		if l != nil {
			t.Fatal("a Loaded with an error")
		}
		for line := range strings.SplitSeq(err.Error(), "\n") {
			if !strings.HasPrefix(line, "fuzz.yaml:") {
				t.Fatalf("error line %q does not start with the file name; all:\n%s", line, err)
			}
		}
	})
}
