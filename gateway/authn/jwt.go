package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// Defaults of Issuer.
const (
	DefaultLeeway       = 30 * time.Second
	DefaultSubjectClaim = "sub"
	DefaultScopesClaim  = "scope"
	DefaultRolesClaim   = "roles"
	DefaultGroupsClaim  = "groups"
	// maxTokenBytes bounds the token the gateway parses at all.
	maxTokenBytes = 16 << 10
)

// Issuer is a token issuer the JWT method trusts, with everything a token
// of it must satisfy.
type Issuer struct {
	// Name labels the issuer in routes, logs and Identity.Credential
	// (default: Issuer).
	Name string
	// Issuer is the exact "iss" of its tokens. Required.
	Issuer string
	// Audiences: the token's "aud" must contain one of them. Empty skips
	// the check, which lets any token of the issuer in, whoever it was
	// meant for: set it.
	Audiences []string
	// Algorithms are the only "alg" values accepted, fixed here rather
	// than read from the token, so neither "none" nor a switch from RS256
	// to HS256 (verifying with the public key as an HMAC secret) can work.
	// One family per issuer: HMAC (HS*) or public-key algorithms. Required.
	Algorithms []string
	// Keys verifies signatures: a *JWKS, or StaticKeys. Required.
	Keys KeySet
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30s).
	Leeway time.Duration
	// SubjectClaim holds the consumer ID (default "sub"); ConsumerPrefix
	// is put before it, so that subjects of two issuers cannot collide.
	SubjectClaim   string
	ConsumerPrefix string
	// ScopesClaim, RolesClaim and GroupsClaim name the claims read into
	// the identity (defaults "scope" — or "scp" when "scope" is absent —
	// "roles" and "groups"). A claim is a list of strings or a string of
	// space-separated values; a dotted name reads a nested claim
	// ("realm_access.roles").
	ScopesClaim, RolesClaim, GroupsClaim string
	// Store, when set, is asked for the consumer named by the subject;
	// its record's roles, groups and scopes are added to the token's.
	Store consumer.Store
	// RequireConsumer refuses tokens whose subject the Store does not
	// know.
	RequireConsumer bool
}

// JWT authenticates "Authorization: Bearer <JWT>" against a set of
// issuers. Create it with NewJWT.
type JWT struct {
	issuers map[string]*issuer // by iss
	now     func() time.Time
	// id keys the tokens it verified in the process's memory of them
	// (verified.go).
	id uint64
}

type issuer struct {
	Issuer
	validator *jwt.Validator
}

// tokenParser decodes a token once; the issuer it names then checks the
// signature and the claims. Strict decoding, as every issuer asks for.
var tokenParser = jwt.NewParser(jwt.WithStrictDecoding())

// NewJWT checks the issuers and returns the method.
func NewJWT(issuers ...Issuer) (*JWT, error) {
	if len(issuers) == 0 {
		return nil, errors.New("jwt: no issuers")
	}
	j := &JWT{issuers: map[string]*issuer{}, now: time.Now, id: jwtIDs.Add(1)}
	var errs []error
	for i, is := range issuers {
		if is.Name == "" {
			is.Name = is.Issuer
		}
		if err := is.check(); err != nil {
			errs = append(errs, fmt.Errorf("jwt issuer %d (%s): %w", i, is.Name, err))
			continue
		}
		if _, dup := j.issuers[is.Issuer]; dup {
			errs = append(errs, fmt.Errorf("jwt issuer %d (%s): iss %q is listed twice", i, is.Name, is.Issuer))
			continue
		}
		is.SubjectClaim = orDefault(is.SubjectClaim, DefaultSubjectClaim)
		is.RolesClaim = orDefault(is.RolesClaim, DefaultRolesClaim)
		is.GroupsClaim = orDefault(is.GroupsClaim, DefaultGroupsClaim)
		if is.Leeway == 0 {
			is.Leeway = DefaultLeeway
		}
		it := &issuer{Issuer: is}
		opts := []jwt.ParserOption{
			jwt.WithIssuer(is.Issuer),
			jwt.WithLeeway(is.Leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithStrictDecoding(),
			jwt.WithTimeFunc(func() time.Time { return j.now() }),
		}
		if len(is.Audiences) > 0 {
			opts = append(opts, jwt.WithAudience(is.Audiences...))
		}
		it.validator = jwt.NewValidator(opts...)
		j.issuers[is.Issuer] = it
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return j, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (is *Issuer) check() error {
	var errs []error
	if is.Issuer == "" {
		errs = append(errs, errors.New("iss is required"))
	}
	if len(is.Algorithms) == 0 {
		errs = append(errs, errors.New("algorithms are required (e.g. RS256)"))
	}
	hmac, public := false, false
	for _, a := range is.Algorithms {
		switch {
		case !knownAlgorithm(a):
			errs = append(errs, fmt.Errorf("algorithm %q is not supported (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA, HS256/384/512)", a))
		case isHMAC(a):
			hmac = true
		default:
			public = true
		}
	}
	if hmac && public {
		errs = append(errs, errors.New("HMAC (HS*) and public-key algorithms must not be mixed in one issuer"))
	}
	if is.Keys == nil {
		errs = append(errs, errors.New("keys are required"))
	}
	if sk, ok := is.Keys.(StaticKeys); ok {
		for _, k := range sk {
			usable := false
			for _, a := range is.Algorithms {
				usable = usable || fits(k, a)
			}
			if !usable {
				errs = append(errs, fmt.Errorf("key %q (%T) verifies none of the algorithms %v", k.ID, k.Public, is.Algorithms))
			}
			if b, ok := k.Public.([]byte); ok && len(b) < MinHMACBytes {
				errs = append(errs, fmt.Errorf("HMAC secret of %d bytes is too short (at least %d)", len(b), MinHMACBytes))
			}
		}
	}
	if is.Leeway < 0 {
		errs = append(errs, errors.New("leeway must not be negative"))
	}
	if is.RequireConsumer && is.Store == nil {
		errs = append(errs, errors.New("require consumer needs a store"))
	}
	return errors.Join(errs...)
}

// Name implements Method.
func (j *JWT) Name() string { return consumer.MethodJWT }

// Challenge implements Method (RFC 6750 §3).
func (j *JWT) Challenge(realm string, err *Error) string {
	c := `Bearer realm="` + realm + `"`
	if err != nil && err.Reason != ReasonMissing {
		c += `, error="invalid_token", error_description="` + err.Detail + `"`
	}
	return c
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// Authenticate implements Method.
func (j *JWT) Authenticate(r *http.Request) (*consumer.Identity, error) {
	tok, ok := bearer(r)
	if !ok {
		return nil, ErrNoCredentials
	}
	return j.Verify(r.Context(), tok)
}

// Verify checks a token and returns the identity it proves, or an *Error.
func (j *JWT) Verify(ctx context.Context, tok string) (*consumer.Identity, error) {
	if tok == "" || len(tok) > maxTokenBytes {
		return nil, fail(ReasonMalformed, "the bearer token is empty or too long", nil)
	}
	// The token is decoded once (header, claims, signature); the issuer its
	// "iss" names decides the algorithms and keys, and the claims check
	// below verifies "iss" again as part of the signed claims. Parsing it a
	// second time with jwt.Parser.ParseWithClaims cost a sixth of a full
	// request's CPU (docs/performance.md).
	if v, ok := j.remembered(tok); ok {
		if id, ok, err := j.reuse(ctx, v); ok {
			return id, err
		}
	}
	var claims jwt.MapClaims
	token, parts, err := tokenParser.ParseUnverified(tok, &claims)
	if errors.Is(err, jwt.ErrTokenUnverifiable) { // an "alg" no issuer could accept, e.g. "None"
		return nil, fail(ReasonAlgorithm, "the token's algorithm is not accepted for its issuer", err)
	}
	if err != nil {
		return nil, fail(ReasonMalformed, "the bearer token is not a well-formed JWT", err)
	}
	// RFC 7515 §4.1.11: extensions listed in "crit" must be understood or
	// the token refused. The gateway understands none (and an empty or
	// malformed "crit" is invalid), so any "crit" refuses the token.
	if _, ok := token.Header["crit"]; ok {
		return nil, fail(ReasonMalformed, "the token has critical header extensions (crit) the gateway does not support", nil)
	}
	iss, _ := claims["iss"].(string)
	is := j.issuers[iss]
	if is == nil {
		return nil, fail(ReasonIssuer, "the token's issuer is not accepted here", nil)
	}
	alg, _ := token.Header["alg"].(string)
	if !contains(is.Algorithms, alg) || token.Method.Alg() != alg {
		return nil, fail(ReasonAlgorithm, "the token's algorithm is not accepted for its issuer", fmt.Errorf("alg %q", alg))
	}
	if _, ok := claims["aud"]; !ok && len(is.Audiences) > 0 {
		return nil, fail(ReasonAudience, "the token has no audience (aud)", nil)
	}

	kid, _ := token.Header["kid"].(string)
	keys, err := is.Keys.Keys(ctx, kid)
	if err != nil {
		return nil, fail(ReasonKeysUnavailable, "the issuer's signing keys are unavailable", err)
	}
	signed := tok[:len(parts[0])+1+len(parts[1])] // header.claims, as signed
	var key any
	tried := false
	for _, k := range keys {
		if !fits(k, alg) {
			continue
		}
		tried = true
		if err = token.Method.Verify(signed, token.Signature, k.Public); err == nil {
			key = k.Public
			break
		}
	}
	if !tried {
		return nil, fail(ReasonUnknownKey, "the token was signed with a key the issuer does not publish", fmt.Errorf("kid %q", kid))
	}
	if key == nil {
		return nil, classify(fmt.Errorf("%w: %w", jwt.ErrTokenSignatureInvalid, err))
	}
	if err := is.validator.Validate(claims); err != nil {
		return nil, classify(wrapClaims(err))
	}
	// Only a token valid now is remembered: a bad one costs its sender the
	// full check every time, and cannot push good ones out.
	v := &verified{claims: claims, is: is, alg: alg, kid: kid, key: key}
	// The validator requires exp, so it is there; taken after Validate
	// passed, checked is no earlier than the time it passed at.
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		v.checked, v.expires = j.now(), exp.Add(is.Leeway)
	}
	j.remember(tok, v)
	return is.identity(ctx, claims)
}

// wrapClaims marks a validator's error as a claims error, as
// jwt.Parser.ParseWithClaims does.
func wrapClaims(err error) error { return fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, err) }

// classify maps a jwt library error to a failure.
func classify(err error) *Error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return fail(ReasonExpired, "the token has expired", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fail(ReasonNotYetValid, "the token is not valid yet", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return fail(ReasonAudience, "the token is not meant for this service (audience)", err)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fail(ReasonIssuer, "the token's issuer is not accepted here", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fail(ReasonBadSignature, "the token's signature is invalid", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing), errors.Is(err, jwt.ErrTokenInvalidClaims):
		return fail(ReasonClaims, "the token's claims are missing or invalid", err)
	}
	return fail(ReasonMalformed, "the bearer token is not a well-formed JWT", err)
}

func (is *issuer) identity(ctx context.Context, claims jwt.MapClaims) (*consumer.Identity, error) {
	sub, _ := lookupClaim(claims, is.SubjectClaim).(string)
	if !validSubject(sub) {
		return nil, fail(ReasonClaims, "the token has no usable "+is.SubjectClaim+" claim", nil)
	}
	id := &consumer.Identity{
		ConsumerID: is.ConsumerPrefix + sub,
		Method:     consumer.MethodJWT,
		Credential: is.Name,
		Claims:     claims,
	}
	if is.ScopesClaim != "" {
		id.Scopes = stringList(lookupClaim(claims, is.ScopesClaim))
	} else if v, ok := claims[DefaultScopesClaim]; ok {
		id.Scopes = stringList(v)
	} else {
		id.Scopes = stringList(claims["scp"])
	}
	id.Roles = stringList(lookupClaim(claims, is.RolesClaim))
	id.Groups = stringList(lookupClaim(claims, is.GroupsClaim))
	if is.Store == nil {
		return id, nil
	}
	c, err := is.Store.Consumer(ctx, id.ConsumerID)
	switch {
	case errors.Is(err, consumer.ErrNotFound):
		if is.RequireConsumer {
			return nil, fail(ReasonUnknownConsumer, "the token's subject is not a known consumer", nil)
		}
		return id, nil
	case err != nil:
		return nil, fail(ReasonStore, "consumers are unavailable", err)
	case c.Disabled:
		return nil, fail(ReasonDisabled, "the consumer is disabled", nil)
	}
	withRecord(id, c)
	return id, nil
}

// withRecord adds a consumer record to an identity.
func withRecord(id *consumer.Identity, c *consumer.Consumer) {
	id.Consumer = c
	id.Scopes = consumer.Merge(id.Scopes, c.Scopes)
	id.Roles = consumer.Merge(id.Roles, c.Roles)
	id.Groups = consumer.Merge(id.Groups, c.Groups)
}

// validSubject accepts what can safely be a consumer ID: it ends up in
// logs, rate-limit keys and headers sent upstream.
func validSubject(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// lookupClaim reads a claim by name, or by dotted path into nested objects.
func lookupClaim(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	var cur any = claims
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// stringList reads a claim that is a list of strings or a string of
// space-separated values; anything else is no values.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
