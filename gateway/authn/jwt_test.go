package authn_test

import (
	"context"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/consumer"
)

const (
	corpIss = "https://idp.test"
	hsIss   = "https://hs.test"
	aud     = "gatescale"
)

var hmacSecret = []byte("0123456789abcdef0123456789abcdef-hmac")

type fixture struct {
	jwt                      *authn.JWT
	jwks                     *authn.JWKS
	server                   *jwksServer
	rs, ps, es, ed, hs, es38 signer
	store                    *consumer.Memory
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		rs:   signer{"r1", jwt.SigningMethodRS256, rsaKey(t, 0)},
		ps:   signer{"p1", jwt.SigningMethodPS256, rsaKey(t, 1)},
		es:   signer{"e1", jwt.SigningMethodES256, ecKey(t, elliptic.P256())},
		es38: signer{"e2", jwt.SigningMethodES384, ecKey(t, elliptic.P384())},
		ed:   signer{"d1", jwt.SigningMethodEdDSA, edKey(t)},
		hs:   signer{"", jwt.SigningMethodHS256, hmacSecret},
	}
	f.server = newJWKSServer(t, f.rs, f.ps, f.es, f.es38, f.ed)
	f.jwks = &authn.JWKS{URL: f.server.URL, MinRefreshInterval: time.Hour}
	var err error
	f.store, err = consumer.NewMemory([]consumer.Consumer{
		{ID: "alice", Roles: []string{"admin"}, Scopes: []string{"extra"}},
		{ID: "mallory", Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.jwt, err = authn.NewJWT(
		authn.Issuer{Name: "corp", Issuer: corpIss, Audiences: []string{aud, "other"},
			Algorithms: []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"}, Keys: f.jwks,
			RolesClaim: "realm_access.roles", Store: f.store},
		authn.Issuer{Name: "hs", Issuer: hsIss, Audiences: []string{aud}, Algorithms: []string{"HS256"},
			Keys: authn.StaticKeys{{Public: hmacSecret}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func reasonOf(err error) authn.Reason {
	var ae *authn.Error
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}

// unsigned builds a token from raw header and claims JSON with the given
// signature bytes.
func unsigned(header, claims string, sig []byte) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(header)) + "." + e([]byte(claims)) + "." + e(sig)
}

func TestJWTVerify(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	rsaPubPEM := func() []byte {
		der, _ := x509.MarshalPKIXPublicKey(&rsaKey(t, 0).PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	hsWithPEM := signer{"r1", jwt.SigningMethodHS256, rsaPubPEM}
	noneJSON := fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","exp":%d}`, corpIss, aud, now.Add(time.Hour).Unix())

	tampered := func() string {
		tok := f.rs.sign(t, claims(corpIss, aud, "bob", nil))
		parts := strings.Split(tok, ".")
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","exp":%d}`, corpIss, aud, now.Add(time.Hour).Unix())))
		return strings.Join(parts, ".")
	}()

	cases := []struct {
		name   string
		token  string
		reason authn.Reason // "" for success
		sub    string
	}{
		{"RS256", f.rs.sign(t, claims(corpIss, aud, "bob", nil)), "", "bob"},
		{"PS256", f.ps.sign(t, claims(corpIss, aud, "bob", nil)), "", "bob"},
		{"ES256", f.es.sign(t, claims(corpIss, aud, "bob", nil)), "", "bob"},
		{"ES384", f.es38.sign(t, claims(corpIss, aud, "bob", nil)), "", "bob"},
		{"EdDSA", f.ed.sign(t, claims(corpIss, aud, "bob", nil)), "", "bob"},
		{"HS256 static secret", f.hs.sign(t, claims(hsIss, aud, "svc", nil)), "", "svc"},
		{"second audience", f.rs.sign(t, claims(corpIss, "other", "bob", nil)), "", "bob"},
		{"audience list", f.rs.sign(t, claims(corpIss, "", "bob", map[string]any{"aud": []string{"x", aud}})), "", "bob"},
		{"expired within leeway", f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"exp": now.Add(-10 * time.Second).Unix()})), "", "bob"},
		{"no kid: every fitting key is tried", signer{"", jwt.SigningMethodES256, f.es.priv}.sign(t, claims(corpIss, aud, "bob", nil)), "", "bob"},

		{"expired", f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})), authn.ReasonExpired, ""},
		{"not before in the future", f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"nbf": now.Add(2 * time.Minute).Unix()})), authn.ReasonNotYetValid, ""},
		{"issued in the future", f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"iat": now.Add(2 * time.Minute).Unix()})), authn.ReasonNotYetValid, ""},
		{"no exp", f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"exp": nil})), authn.ReasonClaims, ""},
		{"wrong audience", f.rs.sign(t, claims(corpIss, "someone-else", "bob", nil)), authn.ReasonAudience, ""},
		{"no audience", f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"aud": nil})), authn.ReasonAudience, ""},
		{"unknown issuer", f.rs.sign(t, claims("https://evil.test", aud, "bob", nil)), authn.ReasonIssuer, ""},
		{"no issuer", f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"iss": nil})), authn.ReasonIssuer, ""},
		{"tampered claims", tampered, authn.ReasonBadSignature, ""},
		{"signed by an unpublished key with a published kid", signer{"r1", jwt.SigningMethodRS256, rsaKey(t, 2)}.sign(t, claims(corpIss, aud, "bob", nil)), authn.ReasonBadSignature, ""},
		{"HS256 token under another issuer's secret", signer{"", jwt.SigningMethodHS256, []byte("another-secret-another-secret-32b")}.sign(t, claims(hsIss, aud, "svc", nil)), authn.ReasonBadSignature, ""},
		{"no subject", f.rs.sign(t, claims(corpIss, aud, "", map[string]any{"sub": nil})), authn.ReasonClaims, ""},
		{"subject with a newline", f.rs.sign(t, claims(corpIss, aud, "a\nb", nil)), authn.ReasonClaims, ""},
		{"disabled consumer", f.rs.sign(t, claims(corpIss, aud, "mallory", nil)), authn.ReasonDisabled, ""},

		// alg "none": the header says no signature is needed.
		{"alg none", unsigned(`{"alg":"none","typ":"JWT"}`, noneJSON, nil), authn.ReasonAlgorithm, ""},
		{"alg None", unsigned(`{"alg":"None","typ":"JWT"}`, noneJSON, nil), authn.ReasonAlgorithm, ""},
		// RS/HS confusion: HS256 with the issuer's RSA public key (which
		// anyone can fetch) as the HMAC secret.
		{"HS256 with the RSA public key as secret", hsWithPEM.sign(t, claims(corpIss, aud, "alice", nil)), authn.ReasonAlgorithm, ""},
		// An algorithm the issuer allows, with a key of another type.
		{"ES256 naming an RSA key", signer{"r1", jwt.SigningMethodES256, f.es.priv}.sign(t, claims(corpIss, aud, "bob", nil)), authn.ReasonUnknownKey, ""},
		{"ES384 naming a P-256 key", signer{"e1", jwt.SigningMethodES384, f.es38.priv}.sign(t, claims(corpIss, aud, "bob", nil)), authn.ReasonUnknownKey, ""},
		{"algorithm not allowed for the issuer", signer{"", jwt.SigningMethodRS512, rsaKey(t, 0)}.sign(t, claims(corpIss, aud, "bob", nil)), authn.ReasonAlgorithm, ""},

		{"garbage", "not-a-jwt", authn.ReasonMalformed, ""},
		{"two parts", "a.b", authn.ReasonMalformed, ""},
		{"bad base64", "!!!.???.***", authn.ReasonMalformed, ""},
		{"too long", strings.Repeat("a", 20000), authn.ReasonMalformed, ""},
		{"empty", "", authn.ReasonMalformed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := f.jwt.Verify(context.Background(), c.token)
			if got := reasonOf(err); got != c.reason || (c.reason != "" && id != nil) {
				t.Fatalf("Verify: identity %v, err %v; want reason %q", id, err, c.reason)
			}
			if c.reason == "" {
				if id.ConsumerID != c.sub || id.Method != consumer.MethodJWT {
					t.Fatalf("identity %+v, want consumer %q", id, c.sub)
				}
			}
			if err != nil {
				// The client-facing detail never quotes the token.
				var ae *authn.Error
				errors.As(err, &ae)
				if len(c.token) > 8 && strings.Contains(ae.Detail, c.token[:8]) {
					t.Fatalf("detail %q quotes the token", ae.Detail)
				}
			}
		})
	}
}

func TestJWTClaimsIntoIdentity(t *testing.T) {
	f := newFixture(t)
	tok := f.rs.sign(t, claims(corpIss, aud, "alice", map[string]any{
		"scope":        "orders:read orders:write",
		"realm_access": map[string]any{"roles": []string{"ops", "admin"}},
		"groups":       []string{"eu"},
	}))
	id, err := f.jwt.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Credential != "corp" || id.Consumer == nil || id.Consumer.ID != "alice" {
		t.Fatalf("identity %+v", id)
	}
	if !slices.Equal(id.Scopes, []string{"orders:read", "orders:write", "extra"}) ||
		!slices.Equal(id.Roles, []string{"ops", "admin"}) || !slices.Equal(id.Groups, []string{"eu"}) {
		t.Fatalf("scopes %q roles %q groups %q", id.Scopes, id.Roles, id.Groups)
	}
	if id.Claims["sub"] != "alice" {
		t.Fatalf("claims %v", id.Claims)
	}
	// "scp" as a list when "scope" is absent.
	id, err = f.jwt.Verify(context.Background(), f.rs.sign(t, claims(corpIss, aud, "bob", map[string]any{"scp": []string{"a", "b"}})))
	if err != nil || !slices.Equal(id.Scopes, []string{"a", "b"}) {
		t.Fatalf("scp: %v %v", id, err)
	}
}

func TestJWTRequireConsumer(t *testing.T) {
	f := newFixture(t)
	j, err := authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"RS256"}, Keys: f.jwks,
		Store: f.store, RequireConsumer: true, ConsumerPrefix: ""})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Verify(context.Background(), f.rs.sign(t, claims(corpIss, aud, "bob", nil))); reasonOf(err) != authn.ReasonUnknownConsumer {
		t.Fatalf("unknown subject: %v", err)
	}
	if _, err := j.Verify(context.Background(), f.rs.sign(t, claims(corpIss, aud, "alice", nil))); err != nil {
		t.Fatalf("known subject: %v", err)
	}
}

func TestNewJWTRefusesUnsafeIssuers(t *testing.T) {
	keys := authn.StaticKeys{{Public: hmacSecret}}
	cases := []struct {
		name string
		is   authn.Issuer
		want string
	}{
		{"no algorithms", authn.Issuer{Issuer: "i", Keys: keys}, "algorithms are required"},
		{"none", authn.Issuer{Issuer: "i", Algorithms: []string{"none"}, Keys: keys}, `algorithm "none" is not supported`},
		{"HS and RS mixed", authn.Issuer{Issuer: "i", Algorithms: []string{"RS256", "HS256"}, Keys: keys}, "must not be mixed"},
		{"short secret", authn.Issuer{Issuer: "i", Algorithms: []string{"HS256"}, Keys: authn.StaticKeys{{Public: []byte("short")}}}, "too short"},
		{"key of the wrong family", authn.Issuer{Issuer: "i", Algorithms: []string{"RS256"}, Keys: keys}, "verifies none of the algorithms"},
		{"no iss", authn.Issuer{Algorithms: []string{"HS256"}, Keys: keys}, "iss is required"},
		{"no keys", authn.Issuer{Issuer: "i", Algorithms: []string{"HS256"}}, "keys are required"},
	}
	for _, c := range cases {
		if _, err := authn.NewJWT(c.is); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := authn.NewJWT(authn.Issuer{Issuer: "i", Algorithms: []string{"HS256"}, Keys: keys},
		authn.Issuer{Issuer: "i", Algorithms: []string{"HS256"}, Keys: keys}); err == nil {
		t.Error("the same iss twice was accepted")
	}
}

// TestJWKSRotation: the issuer rotates to a new key; the first token with
// the new kid makes the cache refresh once and is accepted.
func TestJWKSRotation(t *testing.T) {
	old := signer{"k-old", jwt.SigningMethodRS256, rsaKey(t, 0)}
	next := signer{"k-new", jwt.SigningMethodRS256, rsaKey(t, 1)}
	srv := newJWKSServer(t, old)
	jwks := &authn.JWKS{URL: srv.URL, MinRefreshInterval: 20 * time.Millisecond}
	j, err := authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"RS256"}, Keys: jwks})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := j.Verify(ctx, old.sign(t, claims(corpIss, aud, "a", nil))); err != nil {
		t.Fatal(err)
	}
	if jwks.Fetches() != 1 {
		t.Fatalf("fetches = %d after the first token, want 1", jwks.Fetches())
	}
	srv.set(old, next)
	newTok := next.sign(t, claims(corpIss, aud, "a", nil))
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := j.Verify(ctx, newTok)
		if err == nil {
			break
		}
		if reasonOf(err) != authn.ReasonUnknownKey || time.Now().After(deadline) {
			t.Fatalf("token with the rotated-in key: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // until MinRefreshInterval since the first fetch has passed
	}
	if n := jwks.Fetches(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (one refresh for the new kid)", n)
	}
	// Cached now: no more fetches for known keys.
	for range 10 {
		if _, err := j.Verify(ctx, newTok); err != nil {
			t.Fatal(err)
		}
	}
	if n := jwks.Fetches(); n != 2 {
		t.Fatalf("fetches = %d after verifying cached keys, want 2", n)
	}
}

// TestJWKSUnknownKidRateLimited: tokens with made-up kids, many at once
// and one after another, cost the issuer at most one fetch per
// MinRefreshInterval.
func TestJWKSUnknownKidRateLimited(t *testing.T) {
	good := signer{"k1", jwt.SigningMethodES256, ecKey(t, elliptic.P256())}
	srv := newJWKSServer(t, good)
	jwks := &authn.JWKS{URL: srv.URL, MinRefreshInterval: time.Hour}
	j, err := authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"ES256"}, Keys: jwks})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := j.Verify(ctx, good.sign(t, claims(corpIss, aud, "a", nil))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad := signer{fmt.Sprintf("made-up-%d", i), jwt.SigningMethodES256, ecKey(t, elliptic.P256())}
			if _, err := j.Verify(ctx, bad.sign(t, claims(corpIss, aud, "a", nil))); reasonOf(err) != authn.ReasonUnknownKey {
				t.Errorf("made-up kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("the JWKS endpoint was fetched %d times, want 1 (the first fetch; refreshes are rate-limited)", n)
	}
}

// TestJWKSConcurrentFirstUse: many requests before any key is known share
// one fetch.
func TestJWKSConcurrentFirstUse(t *testing.T) {
	good := signer{"k1", jwt.SigningMethodEdDSA, edKey(t)}
	srv := newJWKSServer(t, good)
	jwks := &authn.JWKS{URL: srv.URL}
	j, _ := authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"EdDSA"}, Keys: jwks})
	tok := good.sign(t, claims(corpIss, aud, "a", nil))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := j.Verify(context.Background(), tok); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("fetched %d times, want 1", n)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	good := signer{"k1", jwt.SigningMethodES256, ecKey(t, elliptic.P256())}
	srv := newJWKSServer(t, good)
	srv.fail.Store(true)
	jwks := &authn.JWKS{URL: srv.URL, MinRefreshInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)}
	j, _ := authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"ES256"}, Keys: jwks})
	tok := good.sign(t, claims(corpIss, aud, "a", nil))
	ctx := context.Background()
	if _, err := j.Verify(ctx, tok); reasonOf(err) != authn.ReasonKeysUnavailable || !errors.Is(err, authn.ErrKeysUnavailable) {
		t.Fatalf("issuer down before the first fetch: %v", err)
	}
	// A failed fetch is rate-limited like any other.
	_, _ = j.Verify(ctx, tok)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("fetched %d times while down, want 1", n)
	}
	// Up: a forced refresh gets the keys; down again: the keys in hand stay.
	srv.fail.Store(false)
	if err := jwks.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv.fail.Store(true)
	if err := jwks.Refresh(ctx); err == nil {
		t.Fatal("Refresh against a failing endpoint succeeded")
	}
	if _, err := j.Verify(ctx, tok); err != nil {
		t.Fatalf("keys in hand were dropped after a failed refresh: %v", err)
	}
}

func TestJWKSStartRefreshes(t *testing.T) {
	good := signer{"k1", jwt.SigningMethodES256, ecKey(t, elliptic.P256())}
	srv := newJWKSServer(t, good)
	jwks := &authn.JWKS{URL: srv.URL, RefreshInterval: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	jwks.Start(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for jwks.Fetches() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("background refresh made %d fetches", jwks.Fetches())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
}

func TestParseKeys(t *testing.T) {
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey(t, 0).PublicKey)
	pemKeys := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"kid": "r1"}, Bytes: der})
	keys, err := authn.ParseKeys(pemKeys)
	if err != nil || len(keys) != 1 || keys[0].ID != "r1" {
		t.Fatalf("PEM: %v %v", keys, err)
	}
	ec := ecKey(t, elliptic.P256())
	set := fmt.Sprintf(`{"keys":[%s,{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"oct","k":"%s","kid":"h"}]}`,
		mustJSON(jwkOf("e1", "ES256", ec)), base64.RawURLEncoding.EncodeToString(hmacSecret))
	keys, err = authn.ParseKeys([]byte(set))
	if err != nil || len(keys) != 2 || keys[0].ID != "e1" || keys[1].ID != "h" {
		t.Fatalf("JWK set: %+v %v", keys, err)
	}
	smallRSA := `{"kty":"RSA","n":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 128)) + `","e":"AQAB"}`
	// A modulus over 8192 bits: verifying one signature with a 256-kbit
	// key takes seconds, and every token naming the key (or none) pays it.
	hugeN := make([]byte, 8192/8+1)
	hugeN[0], hugeN[len(hugeN)-1] = 1, 1
	hugeRSA := `{"kty":"RSA","n":"` + base64.RawURLEncoding.EncodeToString(hugeN) + `","e":"AQAB"}`
	hugePEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(hugeN), E: 65537})}))
	for name, bad := range map[string]string{
		"private PEM":     "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"private JWK":     `{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}`,
		"small RSA":       smallRSA,
		"huge RSA":        hugeRSA,
		"huge RSA PEM":    hugePEM,
		"nothing":         "hello",
		"unsupported crv": `{"kty":"EC","crv":"P-192","x":"a","y":"b"}`,
		"point not on P-256": func() string {
			z := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
			return `{"kty":"EC","crv":"P-256","x":"` + z + `","y":"` + z + `"}`
		}(),
	} {
		if _, err := authn.ParseKeys([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestJWTCritHeader: RFC 7515 §4.1.11 — a token whose "crit" header names
// extensions must be refused by a recipient that does not understand them
// (the gateway understands none), however well it is signed: the issuer
// asked that it not be accepted by one that ignores them.
func TestJWTCritHeader(t *testing.T) {
	f := newFixture(t)
	for name, crit := range map[string]any{
		"unknown extension": []any{"http://example.com/must-understand"},
		"empty list":        []any{},
		"not a list":        "exp",
	} {
		t.Run(name, func(t *testing.T) {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims(corpIss, aud, "bob", nil))
			tok.Header["kid"] = f.rs.kid
			tok.Header["crit"] = crit
			tok.Header["http://example.com/must-understand"] = true
			signed, err := tok.SignedString(f.rs.priv)
			if err != nil {
				t.Fatal(err)
			}
			if id, err := f.jwt.Verify(context.Background(), signed); reasonOf(err) != authn.ReasonMalformed {
				t.Fatalf("token with crit %v: identity %v, err %v; want %s", crit, id, err, authn.ReasonMalformed)
			}
		})
	}
	// The same token without crit is accepted: the refusal is the header's.
	if _, err := f.jwt.Verify(context.Background(), f.rs.sign(t, claims(corpIss, aud, "bob", nil))); err != nil {
		t.Fatalf("without crit: %v", err)
	}
}

// TestJWKSRefusesRedirectToPlainHTTP: a key set configured at an https URL
// is trusted because TLS authenticates the issuer. If that URL redirects to
// plain http (a misconfigured proxy, or someone who can answer on the https
// endpoint's path), the keys would come over a connection anyone on the
// path can rewrite; they are refused, and the keys in hand stay. A
// redirect to another https URL is followed as before.
func TestJWKSRefusesRedirectToPlainHTTP(t *testing.T) {
	forged := signer{"k1", jwt.SigningMethodES256, ecKey(t, elliptic.P256())}
	plain := newJWKSServer(t, forged)
	toPlain := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	t.Cleanup(toPlain.Close)

	jwks := &authn.JWKS{URL: toPlain.URL, Client: toPlain.Client(), MinRefreshInterval: time.Hour, Logger: discard}
	j, err := authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"ES256"}, Keys: jwks})
	if err != nil {
		t.Fatal(err)
	}
	tok := forged.sign(t, claims(corpIss, aud, "admin", nil))
	if id, err := j.Verify(context.Background(), tok); reasonOf(err) != authn.ReasonKeysUnavailable {
		t.Fatalf("keys fetched after a redirect to http: identity %v, err %v; want %s", id, err, authn.ReasonKeysUnavailable)
	}

	// https → https: followed.
	good := signer{"k1", jwt.SigningMethodES256, ecKey(t, elliptic.P256())}
	idp := newJWKSServer(t, good)
	realTLS := httptest.NewTLSServer(idp.Config.Handler)
	t.Cleanup(realTLS.Close)
	toTLS := httptest.NewTLSServer(http.RedirectHandler(realTLS.URL, http.StatusFound))
	t.Cleanup(toTLS.Close)
	jwks = &authn.JWKS{URL: toTLS.URL, Client: toTLS.Client(), MinRefreshInterval: time.Hour, Logger: discard}
	j, err = authn.NewJWT(authn.Issuer{Issuer: corpIss, Algorithms: []string{"ES256"}, Keys: jwks})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Verify(context.Background(), good.sign(t, claims(corpIss, aud, "a", nil))); err != nil {
		t.Fatalf("https to https redirect: %v", err)
	}
}
