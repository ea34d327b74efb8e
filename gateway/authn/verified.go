package authn

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/maypok86/otter/v2"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// verifiedCacheBytes bounds the tokens remembered as verified, for the
// whole process. A client sends the same bearer token on every request
// until it expires; decoding its JSON claims and checking its signature
// again each time was the largest cost of a JWT-authenticated request
// (docs/performance.md). One bound for all JWTs, not one each: a gateway
// builds a JWT per route and again on every reload, so a bound per JWT
// grew with the number of routes (TestVerifiedTokensBoundedPerProcess).
const verifiedCacheBytes = 8 << 20

// verifiedTokens is that process-wide memory. A key names the JWT it was
// verified by (its id), since issuers, audiences and keys differ between
// JWTs. A JWT dropped by a reload leaves its entries behind until newer
// ones push them out: they count against the same bound.
var verifiedTokens = sync.OnceValue(newVerifiedCache)

// jwtIDs numbers JWTs for verifiedTokens' keys.
var jwtIDs atomic.Uint64

type verifiedKey struct {
	jwt uint64
	tok string
}

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
// clean-up goroutine. Expired tokens are refused on read (the validator)
// and age out by size. An entry weighs its token, the claims decoded from
// it (their text is at most three quarters of the token's: base64) and
// the maps and structures around them.
func newVerifiedCache() *otter.Cache[verifiedKey, *verified] {
	c, err := otter.New(&otter.Options[verifiedKey, *verified]{
		MaximumWeight: verifiedCacheBytes,
		Weigher: func(k verifiedKey, v *verified) uint32 {
			return uint32(len(k.tok) + 3*len(k.tok)/4 + 192 + 96*len(v.claims))
		},
	})
	if err != nil {
		panic("authn: verified-token cache: " + err.Error()) // constant options
	}
	return c
}

// remembered returns what j remembers of tok.
func (j *JWT) remembered(tok string) (*verified, bool) {
	return verifiedTokens().GetIfPresent(verifiedKey{j.id, tok})
}

// remember keeps v, a token j verified.
func (j *JWT) remember(tok string, v *verified) {
	verifiedTokens().Set(verifiedKey{j.id, tok}, v)
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
