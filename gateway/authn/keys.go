package authn

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Key is one verification key of an issuer.
type Key struct {
	// ID is the key's "kid". A key without one is a candidate for every
	// token; a key with one only for tokens naming it (or naming none).
	ID string
	// Algorithm, when set (a JWK's "alg"), is the only algorithm the key
	// verifies.
	Algorithm string
	// Public is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey, or
	// []byte for an HMAC secret.
	Public any
}

// KeySet gives the verification keys of one issuer. JWKS and StaticKeys
// implement it.
type KeySet interface {
	// Keys returns the keys that may have signed a token with key ID kid
	// (all keys when kid is empty). A set that can refresh (JWKS) does so,
	// within its rate limit, when it knows no key for kid.
	Keys(ctx context.Context, kid string) ([]Key, error)
}

// StaticKeys is a fixed KeySet, e.g. from a PEM file (ParseKeys) or an
// HMAC secret.
type StaticKeys []Key

// Keys implements KeySet.
func (s StaticKeys) Keys(_ context.Context, kid string) ([]Key, error) {
	return matchKID(s, kid), nil
}

// matchKID returns the keys of set that may carry kid.
func matchKID(set []Key, kid string) []Key {
	if kid == "" {
		return set
	}
	var out []Key
	for _, k := range set {
		if k.ID == "" || k.ID == kid {
			out = append(out, k)
		}
	}
	return out
}

// MinRSABits is the smallest RSA modulus accepted (NIST SP 800-131A).
const MinRSABits = 2048

// MaxRSABits is the largest RSA modulus accepted. Verifying a signature
// costs the square of the modulus' size — 12 ms at 16,384 bits, 5 s at
// 262,144 here — and every token that names the key, or names none, pays
// it, valid or not; crypto/tls refuses certificates' keys over 8192 bits
// for the same reason (CVE-2023-29409).
const MaxRSABits = 8192

// MinHMACBytes is the shortest HMAC secret accepted: RFC 7518 §3.2 asks
// for a key at least as long as the hash output, 32 bytes for HS256.
const MinHMACBytes = 32

// ParseKeys reads verification keys from PEM (PUBLIC KEY, RSA PUBLIC KEY
// or CERTIFICATE blocks; a "kid" PEM header names the key) or from a JWK
// set ({"keys": [...]}) or a single JWK. Private keys are refused: the
// gateway only verifies.
func ParseKeys(data []byte) ([]Key, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJWKSet(trimmed, true)
	}
	var keys []Key
	for rest := trimmed; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if len(bytes.TrimSpace(rest)) > 0 {
				return nil, errors.New("data after the last PEM block is not PEM")
			}
			break
		}
		var pub any
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				pub = c.PublicKey
			}
		default:
			if strings.Contains(b.Type, "PRIVATE") {
				return nil, fmt.Errorf("PEM block %q is a private key: give the gateway public keys only", b.Type)
			}
			return nil, fmt.Errorf("PEM block %q is not a public key or certificate", b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", b.Type, err)
		}
		if err := checkPublic(pub); err != nil {
			return nil, err
		}
		keys = append(keys, Key{ID: b.Headers["kid"], Public: pub})
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys found (expected PEM public keys or a JWK set)")
	}
	return keys, nil
}

// checkPublic refuses key types and sizes the gateway does not verify with.
func checkPublic(pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits is too small (at least %d)", k.N.BitLen(), MinRSABits)
		}
		if k.N.BitLen() > MaxRSABits {
			return fmt.Errorf("RSA key of %d bits is too large (at most %d)", k.N.BitLen(), MaxRSABits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return errors.New("ECDSA key on an unsupported curve (P-256, P-384 or P-521)")
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
	return nil
}

// jwk is one JSON Web Key (RFC 7517), public members only.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	K      string   `json:"k"`
	D      string   `json:"d"`
}

// parseJWKSet parses a JWK set or a single JWK. Keys not meant for
// signatures, and of unknown types, are skipped as RFC 7517 §5 asks;
// symmetric ("oct") keys only when allowOct (a local file, never a URL:
// a secret has no business in a published key set). It fails when no
// usable key remains.
func parseJWKSet(data []byte, allowOct bool) ([]Key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("JWK set: %w", err)
	}
	if set.Keys == nil {
		set.Keys = []json.RawMessage{data} // a single JWK
	}
	var keys []Key
	var skipped []string
	for i, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			return nil, fmt.Errorf("JWK %d: %w", i, err)
		}
		if j.D != "" {
			return nil, fmt.Errorf("JWK %d (kid %q) is a private key: publish public keys only", i, j.Kid)
		}
		if j.Use != "" && j.Use != "sig" || len(j.KeyOps) > 0 && !contains(j.KeyOps, "verify") {
			continue
		}
		k, err := j.key(allowOct)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("JWK %d (kid %q): %v", i, j.Kid, err))
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("no usable key: %s", strings.Join(skipped, "; "))
		}
		return nil, errors.New("no signature keys in the JWK set")
	}
	return keys, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (j *jwk) key(allowOct bool) (Key, error) {
	k := Key{ID: j.Kid, Algorithm: j.Alg}
	if j.Alg != "" && !knownAlgorithm(j.Alg) {
		return k, fmt.Errorf("algorithm %q is not supported", j.Alg)
	}
	switch j.Kty {
	case "RSA":
		n, err1 := b64int(j.N)
		e, err2 := b64int(j.E)
		if err1 != nil || err2 != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return k, errors.New("bad RSA n or e")
		}
		k.Public = &rsa.PublicKey{N: n, E: int(e.Int64())}
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return k, fmt.Errorf("curve %q is not supported", j.Crv)
		}
		x, err1 := base64.RawURLEncoding.DecodeString(j.X)
		y, err2 := base64.RawURLEncoding.DecodeString(j.Y)
		size := (curve.Params().BitSize + 7) / 8
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return k, errors.New("bad EC x or y")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return k, err
		}
		k.Public = pub
	case "OKP":
		x, err := base64.RawURLEncoding.DecodeString(j.X)
		if j.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return k, errors.New("only Ed25519 OKP keys are supported")
		}
		k.Public = ed25519.PublicKey(x)
	case "oct":
		if !allowOct {
			return k, errors.New("symmetric keys are refused in a published key set")
		}
		secret, err := base64.RawURLEncoding.DecodeString(j.K)
		if err != nil || len(secret) < MinHMACBytes {
			return k, fmt.Errorf("HMAC secret must be at least %d bytes", MinHMACBytes)
		}
		k.Public = secret
		return k, nil
	default:
		return k, fmt.Errorf("key type %q is not supported", j.Kty)
	}
	return k, checkPublic(k.Public)
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

// Algorithms the JWT method accepts, by family. "none" is never one.
var (
	rsaAlgorithms   = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	ecdsaAlgorithms = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}
	hmacAlgorithms  = []string{"HS256", "HS384", "HS512"}
)

func knownAlgorithm(alg string) bool {
	_, ec := ecdsaAlgorithms[alg]
	return ec || alg == "EdDSA" || contains(rsaAlgorithms, alg) || contains(hmacAlgorithms, alg)
}

func isHMAC(alg string) bool { return contains(hmacAlgorithms, alg) }

// fits reports whether key k can verify a signature made with alg: the
// key type belongs to the algorithm's family (so an RSA public key is never
// used as an HMAC secret), an ECDSA key is on the algorithm's curve, and a
// key that names its algorithm names this one.
func fits(k Key, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		return contains(rsaAlgorithms, alg)
	case *ecdsa.PublicKey:
		return ecdsaAlgorithms[alg] == pub.Curve
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case []byte:
		return isHMAC(alg)
	}
	return false
}
