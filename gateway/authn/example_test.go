package authn_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatescale/gatescale/gateway/authn"
	"github.com/gatescale/gatescale/gateway/consumer"
)

func ExampleMiddleware() {
	key := "gsk_example-key-0123456789abcdef"
	store, _ := consumer.NewMemory([]consumer.Consumer{
		{ID: "alice", APIKeys: []consumer.APIKey{{ID: "alice-cli", SHA256: consumer.HashKey(key).String()}}},
	})
	protected := authn.Middleware([]authn.Method{&authn.APIKey{Store: store}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "hello", consumer.FromContext(r.Context()).ConsumerID)
		}))

	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("X-API-Key", key)
	rec := httptest.NewRecorder()
	protected.ServeHTTP(rec, r)
	fmt.Print(rec.Code, " ", rec.Body)

	rec = httptest.NewRecorder()
	protected.ServeHTTP(rec, httptest.NewRequest("GET", "/orders", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	fmt.Print(rec.Body)
	// Output:
	// 200 hello alice
	// 401 APIKey realm="gatescale", header="X-API-Key"
	// {"type":"urn:gatescale:auth:missing_credentials","title":"Unauthorized","status":401,"detail":"this route requires authentication"}
}

func ExampleNewJWT() {
	secret := []byte("a-secret-of-at-least-32-bytes-long!!")
	j, err := authn.NewJWT(authn.Issuer{
		Issuer:     "https://idp.example.com",
		Audiences:  []string{"orders-api"},
		Algorithms: []string{"HS256"},
		Keys:       authn.StaticKeys{{Public: secret}},
	})
	if err != nil {
		panic(err)
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://idp.example.com", "aud": "orders-api", "sub": "alice",
		"scope": "orders:read", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(secret)
	id, err := j.Verify(context.Background(), tok)
	fmt.Println(id.ConsumerID, id.Scopes, err)

	expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://idp.example.com", "aud": "orders-api", "sub": "alice", "exp": time.Now().Add(-time.Hour).Unix(),
	}).SignedString(secret)
	_, err = j.Verify(context.Background(), expired)
	fmt.Println(err.(*authn.Error).Reason)
	// Output:
	// alice [orders:read] <nil>
	// expired
}

func ExampleJWKS() {
	// An identity provider publishing one Ed25519 key.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]string{
			"kty": "OKP", "crv": "Ed25519", "kid": "2024-1", "x": base64.RawURLEncoding.EncodeToString(pub),
		}}})
	}))
	defer idp.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := &authn.JWKS{URL: idp.URL, RefreshInterval: 15 * time.Minute}
	keys.Start(ctx) // background refresh; unknown kids also refresh, rate-limited
	j, _ := authn.NewJWT(authn.Issuer{Issuer: "https://idp.example.com", Audiences: []string{"api"},
		Algorithms: []string{"EdDSA"}, Keys: keys})

	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": "https://idp.example.com", "aud": "api", "sub": "svc-7", "exp": time.Now().Add(time.Minute).Unix(),
	})
	t.Header["kid"] = "2024-1"
	tok, _ := t.SignedString(priv)
	id, err := j.Verify(ctx, tok)
	fmt.Println(id.ConsumerID, err)
	// Output: svc-7 <nil>
}

func ExampleForward() {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("X-Consumer-Id:", r.Header.Get("X-Consumer-Id"))
	})
	h := authn.Forward(authn.ForwardHeaders{ConsumerID: "X-Consumer-Id"})(upstream)

	// Whatever the client claims is replaced by what authentication found.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Consumer-Id", "admin")
	r = r.WithContext(consumer.NewContext(r.Context(), &consumer.Identity{ConsumerID: "alice"}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output: X-Consumer-Id: alice
}

func ExampleMTLS() {
	store, _ := consumer.NewMemory([]consumer.Consumer{{ID: "billing", Certificates: []string{"uri:spiffe://example.org/billing"}}})
	// The TLS listener verifies client certificates against its CAs
	// (tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool});
	// MTLS maps a verified certificate to a consumer.
	h := authn.Middleware([]authn.Method{&authn.MTLS{Store: store}})(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil)) // no TLS: no certificate
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 ClientCertificate realm="gatescale"
}

func ExampleParseKeys() {
	keys, err := authn.ParseKeys([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	fmt.Println(len(keys), keys[0].ID, err)
	// Output: 1 k1 <nil>
}
