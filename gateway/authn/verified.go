package authn

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"reflect"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/maypok86/otter/v2"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// verifiedCacheBytes bounds the tokens a JWT remembers as verified. A
// client sends the same bearer token on every request until it expires;
// decoding its JSON claims and checking its signature again each time was
// the largest cost of a JWT-authenticated request (docs/performance.md).
const verifiedCacheBytes = 4 << 20

// verified is a token whose signature was checked. What a later request
// with the same token checks again is what can change: the time claims,
// the key still being published by the issuer, the consumer record.
type verified struct {
	claims jwt.MapClaims // read-only once cached: identities share it
	is     *issuer
	alg    string
	kid    string
	key    any // the key that verified the signature
	// The claims passed the issuer's validator at checked; until exp plus
	// the leeway they pass at any later time, since the other checks are
	// either fixed (iss, aud) or lower bounds (nbf, iat) already met.
	// Within that window a reuse skips the validator (2.6 % of a full
	// chain's CPU); outside it, or if the clock went back, it runs again.
	checked, expires time.Time
}

// newVerifiedCache is size-bounded and has no expiry, so otter runs no
// clean-up goroutine: a JWT rebuilt on every reload leaves nothing behind.
// Expired tokens are refused on read (the validator) and age out by size.
func newVerifiedCache() *otter.Cache[string, *verified] {
	c, err := otter.New(&otter.Options[string, *verified]{
		MaximumWeight: verifiedCacheBytes,
		Weigher: func(tok string, v *verified) uint32 {
			return uint32(len(tok) + 128 + 96*len(v.claims))
		},
	})
	if err != nil {
		panic("authn: verified-token cache: " + err.Error()) // constant options
	}
	return c
}

// reuse answers for a token verified before. ok false means "verify it in
// full": its key is gone or cannot be read now.
func (j *JWT) reuse(ctx context.Context, v *verified) (id *consumer.Identity, ok bool, err error) {
	keys, kerr := v.is.Keys.Keys(ctx, v.kid)
	if kerr != nil {
		return nil, false, nil
	}
	published := false
	for _, k := range keys {
		if fits(k, v.alg) && sameKey(k.Public, v.key) {
			published = true
			break
		}
	}
	if !published {
		return nil, false, nil
	}
	if now := j.now(); v.checked.IsZero() || now.Before(v.checked) || !now.Before(v.expires) {
		if err := v.is.validator.Validate(v.claims); err != nil {
			return nil, true, classify(wrapClaims(err))
		}
	}
	id, err = v.is.identity(ctx, v.claims)
	return id, true, err
}

// sameKey reports whether two verification keys are the same key: secrets
// and Ed25519 keys by their bytes, other keys by identity (a JWKS refresh
// makes new key values, so a refreshed set is verified in full once).
func sameKey(a, b any) bool {
	switch ak := a.(type) {
	case []byte:
		bk, ok := b.([]byte)
		return ok && bytes.Equal(ak, bk)
	case ed25519.PublicKey:
		bk, ok := b.(ed25519.PublicKey)
		return ok && bytes.Equal(ak, bk)
	}
	if a == nil || b == nil || !reflect.TypeOf(a).Comparable() || reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	return a == b
}
