package authn

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// rotatingKeys is a KeySet whose keys a test replaces, counting lookups.
type rotatingKeys struct {
	mu   sync.Mutex
	keys []Key
}

func (r *rotatingKeys) Keys(_ context.Context, kid string) ([]Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return matchKID(r.keys, kid), nil
}

func (r *rotatingKeys) set(keys ...Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = keys
}

var rememberSecret = []byte("0123456789abcdef0123456789abcdef")

// newRemembering returns a JWT verifier for https://idp.test (audience
// api, HS256 with key k1 of keys) and a token it accepts with claims.
func newRemembering(tb testing.TB, keys *rotatingKeys, claims jwt.MapClaims) (*JWT, string) {
	tb.Helper()
	keys.set(Key{ID: "k1", Public: rememberSecret})
	j, err := NewJWT(Issuer{Issuer: "https://idp.test", Audiences: []string{"api"}, Algorithms: []string{"HS256"}, Keys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	claims["iss"], claims["aud"] = "https://idp.test", "api"
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(rememberSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return j, signed
}

// TestVerifiedTokensAreRememberedNotTrusted: a token verified once is not
// decoded again, but what can change is checked on every request: expiry
// (the clock moves on), the key (the issuer stops publishing it), and a
// tampered copy is a different token.
func TestVerifiedTokensAreRememberedNotTrusted(t *testing.T) {
	keys := &rotatingKeys{}
	now := time.Now()
	j, signed := newRemembering(t, keys, jwt.MapClaims{"sub": "alice", "scope": "read", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	j.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 3 {
		id, err := j.Verify(ctx, signed)
		if err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
		if id.ConsumerID != "alice" || len(id.Scopes) != 1 || id.Scopes[0] != "read" {
			t.Fatalf("verify %d: identity %+v", i, id)
		}
	}
	if _, ok := j.remembered(signed); !ok {
		t.Fatal("a verified token was not remembered")
	}

	// A tampered signature is another token: checked in full, refused.
	tampered := signed[:len(signed)-2] + "AA"
	if tampered == signed {
		tampered = signed[:len(signed)-2] + "BB"
	}
	var e *Error
	if _, err := j.Verify(ctx, tampered); !errors.As(err, &e) || e.Reason != ReasonBadSignature {
		t.Fatalf("tampered token: %v", err)
	}
	if _, ok := j.remembered(tampered); ok {
		t.Fatal("a refused token was remembered")
	}

	// The issuer stops publishing the key: the remembered token is refused.
	keys.set(Key{ID: "k2", Public: []byte("another secret, another key......")})
	if _, err := j.Verify(ctx, signed); !errors.As(err, &e) || e.Reason != ReasonUnknownKey {
		t.Fatalf("after the key was withdrawn: %v", err)
	}
	keys.set(Key{ID: "k1", Public: append([]byte(nil), rememberSecret...)}) // same secret, a new value
	if _, err := j.Verify(ctx, signed); err != nil {
		t.Fatalf("after the key came back: %v", err)
	}

	// Time passes beyond exp and the leeway: refused though remembered.
	now = now.Add(time.Minute + DefaultLeeway + time.Second)
	if _, err := j.Verify(ctx, signed); !errors.As(err, &e) || e.Reason != ReasonExpired {
		t.Fatalf("after expiry: %v", err)
	}
}

// TestSameKey: secrets and Ed25519 keys compare by bytes; keys of other
// types by identity, and never panic on types == cannot compare.
func TestSameKey(t *testing.T) {
	type pair struct {
		a, b any
		want bool
	}
	x := &struct{ n int }{1}
	for i, c := range []pair{
		{[]byte("s"), []byte("s"), true},
		{[]byte("s"), []byte("t"), false},
		{x, x, true},
		{x, &struct{ n int }{1}, false},
		{[]byte("s"), x, false},
		{map[string]int{}, map[string]int{}, false},
		{nil, x, false},
	} {
		if got := sameKey(c.a, c.b); got != c.want {
			t.Errorf("case %d: sameKey = %v, want %v", i, got, c.want)
		}
	}
}

// A remembered token skips the claims check only between the time it was
// checked and exp plus the leeway: at exp + leeway it is refused, one
// nanosecond before it is not, and a clock set back before nbf refuses it
// again.
func TestVerifiedTokenWindow(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	exp := start.Add(time.Minute)
	j, signed := newRemembering(t, &rotatingKeys{}, jwt.MapClaims{"sub": "alice", "iat": start.Unix(), "nbf": start.Unix(), "exp": exp.Unix()})
	now := start
	j.now = func() time.Time { return now }
	ctx := context.Background()
	verify := func(at time.Time) error {
		now = at
		_, err := j.Verify(ctx, signed)
		return err
	}
	if err := verify(start); err != nil {
		t.Fatal(err)
	}
	if _, ok := j.remembered(signed); !ok {
		t.Fatal("not remembered")
	}
	var e *Error
	if err := verify(start.Add(-time.Hour)); !errors.As(err, &e) || e.Reason != ReasonNotYetValid {
		t.Fatalf("clock set back before nbf: %v, want %s", err, ReasonNotYetValid)
	}
	if err := verify(exp.Add(DefaultLeeway - time.Nanosecond)); err != nil {
		t.Fatalf("just before exp + leeway: %v", err)
	}
	if err := verify(exp.Add(DefaultLeeway)); !errors.As(err, &e) || e.Reason != ReasonExpired {
		t.Fatalf("at exp + leeway: %v, want %s", err, ReasonExpired)
	}
}

// BenchmarkVerifyRemembered: the per-request cost of a token already
// verified (the cache hit: key still published, claims window, identity).
func BenchmarkVerifyRemembered(b *testing.B) {
	now := time.Now()
	j, signed := newRemembering(b, &rotatingKeys{}, jwt.MapClaims{"sub": "alice", "scope": "read", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Verify(ctx, signed); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiedTokensBoundedPerProcess: the memory of verified tokens is
// bounded for the whole process, not per JWT. A gateway builds one JWT per
// route that authenticates with tokens, so a bound per JWT grew with the
// number of routes — 4 MiB each, 400 MiB for 100 routes whose clients
// send many tokens — and is paid again after each reload.
func TestVerifiedTokensBoundedPerProcess(t *testing.T) {
	const routes, tokensPerRoute = 8, 1600
	keys := &rotatingKeys{}
	keys.set(Key{ID: "k1", Public: rememberSecret})
	// 3 KB of claims per token: 1,600 of them are more than 4 MiB.
	roles := strings.Repeat("role-", 600)
	exp := time.Now().Add(time.Hour).Unix()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	var js []*JWT
	ctx := context.Background()
	for r := range routes {
		j, err := NewJWT(Issuer{Issuer: "https://idp.test", Audiences: []string{"api"}, Algorithms: []string{"HS256"}, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, j)
		for i := range tokensPerRoute {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"iss": "https://idp.test", "aud": "api", "sub": fmt.Sprintf("user-%d-%d", r, i), "roles": roles, "exp": exp})
			tok.Header["kid"] = "k1"
			signed, err := tok.SignedString(rememberSecret)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Verify(ctx, signed); err != nil {
				t.Fatal(err)
			}
		}
	}
	grown := heap() - before
	runtime.KeepAlive(js)
	t.Logf("%d JWTs, %d tokens each: the heap grew by %.1f MiB", routes, tokensPerRoute, float64(grown)/(1<<20))
	// The bound is verifiedCacheBytes for all eight JWTs together; the
	// heap may hold somewhat more (the weights are estimates, the cache has
	// overhead of its own), not a bound per JWT: before, eight held 57 MiB.
	if limit := uint64(2 * verifiedCacheBytes); grown > limit {
		t.Fatalf("%d JWTs remember %.1f MiB of verified tokens; the process-wide bound is %.1f MiB", routes, float64(grown)/(1<<20), float64(verifiedCacheBytes)/(1<<20))
	}
}
