package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/spec"
)

// The common tasks through `gatescale admin`, against a real admin API:
// put, lifecycle, key, get, diff, rollback (shown, then written); a refused
// change prints the field's pointer and changes nothing.
func TestAdminCommand(t *testing.T) {
	dir := t.TempDir()
	st := admin.NewFile(filepath.Join(dir, "state.json"))
	seed := &spec.Config{Upstreams: map[string]spec.Upstream{"a": {Instances: []spec.Instance{{Addr: "127.0.0.1:9"}}}}}
	if _, err := st.Save(context.Background(), 0, seed, admin.Change{Actor: "seed"}); err != nil {
		t.Fatal(err)
	}
	tokens, err := admin.NewTokens(admin.Token{Name: "ops", SHA256: admin.HashToken("s3cret"), Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	api, err := admin.NewAPI(st, admin.Options{Tokens: tokens, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	t.Setenv("GATESCALE_ADMIN_TOKEN", "s3cret")
	adm := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"admin", "-url", srv.URL}, args...), &out, io.Discard)
		return out.String(), err
	}
	must := func(want string, args ...string) string {
		t.Helper()
		out, err := adm(args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("gatescale admin %v: %v\n%s", args, err, out)
		}
		return out
	}
	route := filepath.Join(dir, "users.json")
	if err := os.WriteFile(route, []byte(`{"path_prefix":"/users","upstream":"a"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	must("revision 2", "put", "route/users", route)
	must("route users is deprecated (revision 3)", "lifecycle", "users", "deprecated", "-sunset", "2027-01-31T00:00:00Z", "-successor", "/v2/users")
	must(`"sunset": "2027-01-31T00:00:00Z"`, "get", "routes/users")
	acme := filepath.Join(dir, "acme.json")
	if err := os.WriteFile(acme, []byte(`{"roles":["partner"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	must("revision 4", "put", "consumer/acme", acme)
	out := must("key: gsk_", "key", "acme", "-id", "acme-1")
	if !strings.Contains(out, "id:  acme-1") {
		t.Fatalf("key: %s", out)
	}
	must("route users is retired (revision 6)", "lifecycle", "users", "retired")
	must(`~ /routes/0/lifecycle/state "deprecated" → "retired"`, "diff", "6", "-from", "3")
	// Rollback shows what it would change and writes only with -yes.
	must(`~ /routes/0/lifecycle/state "retired" → "deprecated"`, "rollback", "3")
	if _, rev, _ := (&admin.Client{URL: srv.URL, Token: "s3cret"}).Config(context.Background()); rev != 6 {
		t.Fatalf("rollback without -yes wrote: revision %d", rev)
	}
	must("rolled back to revision 3 as revision 7", "rollback", "3", "-yes")
	must(`"state": "deprecated"`, "get", "routes/users")
	// A refused change: the pointer of the field, nothing written.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"path_prefix":"/b","upstream":"nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := adm("put", "route/b", bad); err == nil || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "/routes/1/upstream") {
		t.Fatalf("refused change: %v", err)
	}
	if _, err := adm("lifecycle", "users", "draft"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("deprecated → draft: %v", err)
	}
	if _, err := adm("put", "widget/x", bad); err == nil || !strings.Contains(err.Error(), "want upstream/NAME") {
		t.Fatalf("bad kind: %v", err)
	}
}
