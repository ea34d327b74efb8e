package authn_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/consumer"
)

// FuzzJWTMiddleware sends arbitrary Authorization headers through the JWT
// middleware. It must never panic, answer only 200 or 401, and accept only
// tokens this test signed: any accepted request must carry exactly the
// claims of a seed.
func FuzzJWTMiddleware(f *testing.F) {
	es := signer{"e1", jwt.SigningMethodES256, ecKey(f, elliptic.P256())}
	hs := signer{"", jwt.SigningMethodHS256, hmacSecret}
	exp := time.Now().Add(24 * time.Hour).Unix()
	seed := func(s signer, iss string) string {
		return s.sign(f, claims(iss, aud, "fuzz-user", map[string]any{"jti": "seed", "exp": exp}))
	}
	j, err := authn.NewJWT(
		authn.Issuer{Issuer: corpIss, Audiences: []string{aud}, Algorithms: []string{"ES256"},
			Keys: authn.StaticKeys{{ID: "e1", Public: &es.priv.(*ecdsa.PrivateKey).PublicKey}}},
		authn.Issuer{Issuer: hsIss, Audiences: []string{aud}, Algorithms: []string{"HS256"},
			Keys: authn.StaticKeys{{Public: hmacSecret}}},
	)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"Bearer " + seed(es, corpIss),
		"Bearer " + seed(hs, hsIss),
		"Bearer " + unsigned(`{"alg":"none"}`, `{"iss":"`+corpIss+`","sub":"x"}`, nil),
		"Bearer " + unsigned(`{"alg":"HS256","kid":"e1"}`, `{"iss":"`+corpIss+`","sub":"x"}`, []byte("sig")),
		"Bearer a.b.c", "Bearer ", "bearer x", "Basic Zm9vOmJhcg==", "",
		"Bearer eyJhbGciOiJIUzI1NiJ9.e30.",
	} {
		f.Add(s)
	}
	var got *consumer.Identity
	h := authn.Middleware([]authn.Method{j})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = consumer.FromContext(r.Context())
	}))
	f.Fuzz(func(t *testing.T, authorization string) {
		got = nil
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{authorization}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		switch rec.Code {
		case http.StatusOK:
			if got == nil || got.ConsumerID != "fuzz-user" || got.Claims["jti"] != "seed" || got.Claims["exp"] != float64(exp) {
				t.Fatalf("accepted a token this test did not sign: %q -> %+v", authorization, got)
			}
		case http.StatusUnauthorized:
			if got != nil || rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("401 without a challenge, or the handler ran: %q", authorization)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, authorization)
		}
	})
}
