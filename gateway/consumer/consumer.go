package consumer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Consumer is one caller of the gateway: a user, a service, a partner.
type Consumer struct {
	// ID identifies the consumer in authorization rules, rate limits,
	// metrics-free logs and the identity headers sent upstream. Required,
	// unique; at most 256 bytes, no control characters, no white space at
	// either end (a header could not carry it as it is).
	ID string `yaml:"id" json:"id"`
	// Roles and Groups are matched by authorization rules, together with
	// those a JWT carries.
	Roles  []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	Groups []string `yaml:"groups,omitempty" json:"groups,omitempty"`
	// Scopes are granted to every credential of the consumer, on top of
	// the scopes a JWT carries.
	Scopes []string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	// Metadata is free-form data for the operator (plan, owner...).
	Metadata map[string]string `yaml:"metadata,omitempty" json:"metadata,omitempty"`
	// APIKeys are the consumer's API keys, by hash.
	APIKeys []APIKey `yaml:"api_keys,omitempty" json:"api_keys,omitempty"`
	// Certificates are the client certificate identities that authenticate
	// as this consumer (see CertIdentities for the forms).
	Certificates []string `yaml:"certificates,omitempty" json:"certificates,omitempty"`
	// RateLimit are the consumer's own flow limits, on every route that
	// authenticates it (see Limit).
	RateLimit []Limit `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	// Disabled consumers are refused by every authentication method.
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
}

// APIKey is one API key of a consumer. Only its hash is kept.
type APIKey struct {
	// ID names the key (not secret): it is what logs, rate limits by API
	// key and the upstream see. Required, unique across all consumers;
	// the same rules as Consumer.ID.
	ID string `yaml:"id" json:"id"`
	// SHA256 is the hex SHA-256 of the key (HashKey(key).String()).
	SHA256 string `yaml:"sha256" json:"sha256"`
}

// KeyHash is the SHA-256 of an API key.
type KeyHash [sha256.Size]byte

// HashKey returns the hash under which key is stored.
func HashKey(key string) KeyHash { return sha256.Sum256([]byte(key)) }

// ParseKeyHash parses the hex form of a KeyHash.
func ParseKeyHash(s string) (KeyHash, error) {
	var h KeyHash
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%q is not a hex SHA-256 (64 hex digits)", s)
	}
	copy(h[:], b)
	return h, nil
}

// String returns the hash in hex, as stored in APIKey.SHA256.
func (h KeyHash) String() string { return hex.EncodeToString(h[:]) }

// GenerateKey returns a new random API key with 256 bits of entropy,
// prefix first (e.g. "gsk_"), and its hash.
func GenerateKey(prefix string) (key string, hash KeyHash) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	key = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashKey(key)
}

// Prefixes of certificate identities (see CertIdentities).
const (
	CertCN      = "cn:"
	CertSubject = "subject:"
	CertDNS     = "dns:"
	CertURI     = "uri:"
	CertEmail   = "email:"
	CertSHA256  = "sha256:"
)

// CertIdentities returns the identities a verified client certificate
// proves, most specific first: "sha256:<hex of the DER>", then each URI SAN
// ("uri:spiffe://example.org/ns/a/sa/b"), DNS SAN ("dns:svc.example.com")
// and e-mail SAN ("email:a@example.com"), then "subject:<RFC 2253 subject>"
// and "cn:<common name>". A consumer lists any of them in Certificates.
func CertIdentities(cert *x509.Certificate) []string {
	sum := sha256.Sum256(cert.Raw)
	ids := []string{CertSHA256 + hex.EncodeToString(sum[:])}
	for _, u := range cert.URIs {
		ids = append(ids, CertURI+u.String())
	}
	for _, d := range cert.DNSNames {
		ids = append(ids, CertDNS+strings.ToLower(d))
	}
	for _, e := range cert.EmailAddresses {
		ids = append(ids, CertEmail+e)
	}
	ids = append(ids, CertSubject+cert.Subject.String())
	if cert.Subject.CommonName != "" {
		ids = append(ids, CertCN+cert.Subject.CommonName)
	}
	return ids
}

func validCertIdentity(s string) bool {
	for _, p := range []string{CertCN, CertSubject, CertDNS, CertURI, CertEmail, CertSHA256} {
		if rest, ok := strings.CutPrefix(s, p); ok && rest != "" {
			if p == CertSHA256 {
				_, err := ParseKeyHash(rest)
				return err == nil
			}
			return true
		}
	}
	return false
}

// normalCertIdentity returns the form CertIdentities produces: DNS names
// and SHA-256 digests are compared in lower case.
func normalCertIdentity(s string) string {
	if rest, ok := strings.CutPrefix(s, CertDNS); ok {
		return CertDNS + strings.ToLower(rest)
	}
	if rest, ok := strings.CutPrefix(s, CertSHA256); ok {
		return CertSHA256 + strings.ToLower(rest)
	}
	return s
}

// Methods of authentication, as recorded in Identity.Method.
const (
	MethodJWT       = "jwt"
	MethodAPIKey    = "api_key"
	MethodMTLS      = "mtls"
	MethodAnonymous = "anonymous"
)

// Identity is who is calling, as authentication established it for one
// request. Authorization, rate limits and the identity headers sent
// upstream read it from the request context (FromContext).
type Identity struct {
	// ConsumerID is the consumer's ID; empty for anonymous requests.
	ConsumerID string
	// Consumer is the stored record, or nil: for anonymous requests, and
	// for a JWT whose subject the store does not know.
	Consumer *Consumer
	// Method is how the request authenticated (MethodJWT, ...).
	Method string
	// Credential names the credential used, never the secret: the API key's
	// ID, the JWT issuer's name, or the certificate identity that matched.
	Credential string
	// Scopes, Roles and Groups are those of the credential (JWT claims)
	// merged with those of the consumer record, without duplicates.
	Scopes, Roles, Groups []string
	// Claims are the verified JWT claims; nil for other methods.
	Claims map[string]any
}

// Anonymous reports whether the request carried no credentials (and the
// route let it through).
func (id *Identity) Anonymous() bool { return id == nil || id.ConsumerID == "" }

// HasScope, HasRole and HasGroup report whether the identity holds s.
func (id *Identity) HasScope(s string) bool { return id != nil && slices.Contains(id.Scopes, s) }

// HasRole reports whether the identity has role s.
func (id *Identity) HasRole(s string) bool { return id != nil && slices.Contains(id.Roles, s) }

// HasGroup reports whether the identity is in group s.
func (id *Identity) HasGroup(s string) bool { return id != nil && slices.Contains(id.Groups, s) }

// Merge returns a and b without duplicates, a's order first.
func Merge(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for _, s := range a {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, s := range b {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity in ctx, or nil when no authentication
// middleware ran.
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}

// ErrNotFound is returned by a Store for an unknown consumer, key or
// certificate.
var ErrNotFound = errors.New("consumer not found")

// Store is where authentication looks consumers up. Implementations must
// be safe for concurrent use; lookups are on the request path, so they
// should answer from memory.
type Store interface {
	// Consumer returns the consumer with this ID.
	Consumer(ctx context.Context, id string) (*Consumer, error)
	// ByAPIKey returns the consumer owning the key with this hash, and
	// that key's ID.
	ByAPIKey(ctx context.Context, hash KeyHash) (*Consumer, string, error)
	// ByCertificate returns the consumer that lists identity (one of
	// CertIdentities) in its Certificates.
	ByCertificate(ctx context.Context, identity string) (*Consumer, error)
}
