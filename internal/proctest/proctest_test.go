package proctest

import "testing"

// Both log formats of the gateway announce the listeners.
func TestListener(t *testing.T) {
	for _, c := range []struct{ line, which, addr string }{
		{`{"time":"x","level":"INFO","msg":"gateway listening","addr":"127.0.0.1:1"}`, "gateway", "127.0.0.1:1"},
		{`{"msg":"admin listening","addr":"127.0.0.1:2"}`, "admin", "127.0.0.1:2"},
		{`time=x level=INFO msg="gateway listening" addr=127.0.0.1:3`, "gateway", "127.0.0.1:3"},
		{`time=x level=INFO msg="admin listening" addr=127.0.0.1:4`, "admin", "127.0.0.1:4"},
		{`{"msg":"draining"}`, "", ""},
		{`not a log line`, "", ""},
	} {
		if w, a := listener(c.line); w != c.which || a != c.addr {
			t.Errorf("%s: %q %q", c.line, w, a)
		}
	}
}
