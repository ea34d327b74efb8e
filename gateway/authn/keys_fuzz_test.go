package authn

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
)

// FuzzParseKeys: a JWK set comes from the issuer's URL and a key file from
// an operator; neither may panic the gateway, and what is accepted is only
// ever a key it can verify with safely — RSA of at least MinRSABits, ECDSA
// on a supported curve, Ed25519, and a secret of at least MinHMACBytes only
// from a local file, never from a published set.
func FuzzParseKeys(f *testing.F) {
	b64 := base64.RawURLEncoding.EncodeToString
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ecBytes, err := ek.PublicKey.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	set, _ := json.Marshal(map[string]any{"keys": []map[string]any{
		{"kty": "RSA", "kid": "r", "alg": "RS256", "use": "sig", "n": b64(rk.N.Bytes()), "e": "AQAB"},
		{"kty": "EC", "kid": "e", "crv": "P-256", "x": b64(ecBytes[1:33]), "y": b64(ecBytes[33:])},
		{"kty": "OKP", "kid": "o", "crv": "Ed25519", "x": b64(edPub)},
		{"kty": "oct", "kid": "h", "k": b64([]byte("0123456789abcdef0123456789abcdef"))},
		{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"},
	}})
	der, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	for _, seed := range [][]byte{
		set,
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"kid": "r1"}, Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rk.PublicKey)}),
		[]byte(`{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}`),
		[]byte(`{"keys":[{"kty":"oct","k":"c2hvcnQ"}]}`),
		[]byte(`{"keys":[]}`),
		[]byte(`-----BEGIN PRIVATE KEY-----` + "\nAAAA\n" + `-----END PRIVATE KEY-----`),
	} {
		f.Add(seed)
	}
	check := func(t *testing.T, where string, keys []Key, symmetricAllowed bool) {
		for i, k := range keys {
			if secret, ok := k.Public.([]byte); ok {
				if !symmetricAllowed {
					t.Fatalf("%s: key %d is a secret, from a published key set", where, i)
				}
				if len(secret) < MinHMACBytes {
					t.Fatalf("%s: key %d is a secret of %d bytes", where, i, len(secret))
				}
				continue
			}
			if err := checkPublic(k.Public); err != nil {
				t.Fatalf("%s: key %d accepted: %v", where, i, err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if keys, err := ParseKeys(data); err == nil {
			if len(keys) == 0 {
				t.Fatal("ParseKeys: no keys and no error")
			}
			check(t, "ParseKeys", keys, true)
		}
		if keys, err := parseJWKSet(data, false); err == nil {
			if len(keys) == 0 {
				t.Fatal("a published set: no keys and no error")
			}
			check(t, "a published set", keys, false)
		}
	})
}
