package admin_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/spec"
)

// A revision written to the store that a replica cannot build yet (it
// names a secret file not mounted there) is applied by that replica on its
// own once the file appears: the store is written to once, and its Watch
// delivers that state once. Content that is wrong is not retried: it waits
// for the next write.
func TestReplicaRetriesBuildWhenFileAppears(t *testing.T) {
	stores(t, func(t *testing.T, st admin.Store) {
		if f, ok := st.(*admin.File); ok {
			f.Every = 10 * time.Millisecond
		}
		backend := httptest.NewServer(nil)
		defer backend.Close()
		addr := backend.Listener.Addr().String()
		ctx := context.Background()
		rev, err := st.Save(ctx, 0, sample(addr, "a"), admin.Change{Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		r := startReplica(t, st)

		secret := filepath.Join(t.TempDir(), "hs256.secret")
		c := sample(addr, "a", "b")
		c.Auth = &spec.Auth{JWT: map[string]spec.JWTIssuer{"idp": {Issuer: "https://idp.test", Audiences: []string{"shop"},
			Algorithms: []string{"HS256"}, SecretFile: secret}}}
		c.Routes[1].Auth = &spec.RouteAuth{Methods: []string{"jwt"}}
		if rev, err = st.Save(ctx, rev, c, admin.Change{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the refusal of the state naming the missing secret", 20*time.Second, func() bool {
			return strings.Contains(r.loop.Status().LastError, "auth.jwt.idp.secret_file")
		})
		if code := r.get("/b"); code != 404 {
			t.Fatalf("GET /b = %d before the state applied, want 404", code)
		}

		if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the state applied once the secret is there", 20*time.Second, func() bool { _, ok := r.appliedAt(rev); return ok })
		if code := r.get("/b"); code != 401 {
			t.Errorf("GET /b without a token = %d, want 401 (the route, with its authentication)", code)
		}
		if s := r.loop.Status(); s.LastError != "" || s.Retry != nil {
			t.Errorf("status after the retry applied: %+v", s)
		}

		// Wrong content: refused once, not retried.
		bad := sample(addr, "a", "b")
		bad.Routes[1].Upstream = "nope"
		errs := r.reloads("error")
		if _, err = st.Save(ctx, rev, bad, admin.Change{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the refusal of the invalid state", 20*time.Second, func() bool {
			return strings.Contains(r.loop.Status().LastError, `"nope"`)
		})
		if s := r.loop.Status(); s.Retry != nil {
			t.Errorf("invalid content scheduled for a retry: %+v", s)
		}
		if got := r.reloads("error"); got != errs+1 {
			t.Errorf("reloads{error} went from %v to %v, want one refusal", errs, got)
		}
	})
}
