package spec

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeValidate feeds JSON bodies, as the admin API will receive them,
// to decoding and validation: neither may panic, every problem is a
// *FieldError whose pointer round-trips to its path's segments.
func FuzzDecodeValidate(f *testing.F) {
	f.Add(`{"upstreams":{"u":{"instances":["127.0.0.1:1"]}},"routes":[{"name":"r","path_prefix":"/","upstream":"u"}]}`)
	f.Add(`{"routes":[{"name":"r","path":"/a/{id","upstream":"x","timeout":"1s","max_body_bytes":"1MiB","rate_limit":[{"rate":0,"key":"header:"}]}]}`)
	f.Add(`{"auth":{"jwt":{"a.b":{"issuer":"i","audiences":[""],"algorithms":["none","HS256"],"jwks_url":"ftp://x"}}},"consumers":[{"id":""}]}`)
	f.Add(`{"upstreams":{"a/b~c":{"balancer":"hash","hash":{"load_factor":0.5}}},"trusted_proxies":["x"]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var c Config
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return
		}
		fields, other := FieldErrors(Validate(&c))
		if len(other) > 0 {
			t.Fatalf("non-field errors: %v", other)
		}
		for _, fe := range fields {
			p := fe.Pointer()
			if fe.Path != "" && !strings.HasPrefix(p, "/") {
				t.Fatalf("pointer %q of %q", p, fe.Path)
			}
			if got := len(strings.Split(p, "/")) - 1; fe.Path != "" && got != len(Segments(fe.Path)) {
				t.Fatalf("pointer %q has %d segments, path %q has %d", p, got, fe.Path, len(Segments(fe.Path)))
			}
		}
	})
}
