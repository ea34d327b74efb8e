package spec

import (
	"encoding/json"
	"testing"
	"time"
)

// The admin API decodes the same model from JSON: durations and sizes as
// strings, instances as "host:port" or objects.
func TestJSONForms(t *testing.T) {
	var c Config
	doc := `{"upstreams":{"u":{"instances":["127.0.0.1:1",{"addr":"127.0.0.1:2","weight":3}],"try_timeout":"250ms"}},
	"routes":[{"name":"r","path_prefix":"/r","upstream":"u","timeout":"5s","max_body_bytes":"1KiB"}]}`
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams["u"]
	if len(u.Instances) != 2 || u.Instances[0].Addr != "127.0.0.1:1" || u.Instances[1].Weight != 3 || u.TryTimeout.Std() != 250*time.Millisecond {
		t.Fatalf("upstream %+v", u)
	}
	if r := c.Routes[0]; r.Timeout.Std() != 5*time.Second || r.MaxBodyBytes != 1024 {
		t.Fatalf("route %+v", r)
	}
	if err := Validate(&c); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	out, err := json.Marshal(c.Routes[0].Timeout)
	if err != nil || string(out) != `"5s"` {
		t.Fatalf("marshal: %s %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"routes":[{"timeout":5}]}`), &c); err == nil {
		t.Fatal("a bare number of seconds was accepted")
	}
}

// A JSON API reports problems by JSON pointer.
func TestValidatePointers(t *testing.T) {
	c := Config{Upstreams: map[string]Upstream{"a/b": {}},
		Routes: []Route{{Name: "r", PathPrefix: "/r", Upstream: "nope", Auth: &RouteAuth{Methods: []string{"jwt"}}}}}
	fields, other := FieldErrors(Validate(&c))
	if len(other) != 0 {
		t.Fatalf("non-field errors %v", other)
	}
	got := map[string]string{}
	for _, fe := range fields {
		got[fe.Pointer()] = fe.Message
	}
	for _, want := range []string{"/upstreams/a~1b/instances", "/routes/0/upstream", "/routes/0/auth/methods/0"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no error at %s; got %v", want, got)
		}
	}
}

func TestSegments(t *testing.T) {
	for path, want := range map[string]string{
		`routes[0].auth.methods[1]`:     "/routes/0/auth/methods/1",
		`upstreams["a.b"].instances[0]`: "/upstreams/a.b/instances/0",
		`auth.jwt.x`:                    "/auth/jwt/x",
		``:                              "",
	} {
		if got := Pointer(path); got != want {
			t.Errorf("Pointer(%q) = %q, want %q", path, got, want)
		}
	}
}
