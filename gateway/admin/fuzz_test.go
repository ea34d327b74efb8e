package admin_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/spec"
)

// FuzzDecodeChange: decoding an admin request body never panics; a refusal
// is a *DecodeError whose pointer is empty or an RFC 6901 pointer; what is
// accepted survives a marshal/decode round trip.
func FuzzDecodeChange(f *testing.F) {
	for _, s := range []string{
		`{"path_prefix":"/x","upstream":"b"}`,
		`{"instances":["127.0.0.1:1",{"addr":"h:1","weight":2}]}`,
		`{"id":"a","api_keys":[{"id":"k","sha256":"00"}]}`,
		`{"auth":{"methods":["jwt"],"x":1}}`,
		`{"timeout":"5s","max_body_bytes":"1MiB","rate_limit":[{"rate":1}]}`,
		`[]`, `{"a~/b":1}`, `{} {}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, newObj := range []func() any{
			func() any { return new(spec.Route) },
			func() any { return new(spec.Upstream) },
			func() any { return new(consumer.Consumer) },
		} {
			v := newObj()
			err := admin.DecodeStrict([]byte(body), v)
			if err != nil {
				var de *admin.DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("not a DecodeError: %v", err)
				}
				if de.Pointer != "" && !strings.HasPrefix(de.Pointer, "/") {
					t.Fatalf("pointer %q", de.Pointer)
				}
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			w := newObj()
			if err := admin.DecodeStrict(b, w); err != nil {
				t.Fatalf("round trip of %s: %v", b, err)
			}
			if !reflect.DeepEqual(v, w) {
				b2, _ := json.Marshal(w)
				if string(b) != string(b2) {
					t.Fatalf("round trip differs:\n%s\n%s", b, b2)
				}
			}
		}
	})
}
