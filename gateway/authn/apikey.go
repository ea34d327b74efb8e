package authn

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// DefaultAPIKeyHeader is the header APIKey reads by default.
const DefaultAPIKeyHeader = "X-API-Key"

// maxAPIKeyBytes bounds a presented key; longer ones cannot be ours.
const maxAPIKeyBytes = 512

// APIKey authenticates an API key sent in a header (and, if Query is set,
// in a query parameter), looked up by its SHA-256 in Store. The key is
// removed from the request before it goes upstream: the upstream has no
// use for the gateway's credential.
type APIKey struct {
	// Store maps key hashes to consumers. Required.
	Store consumer.Store
	// Header carries the key (default X-API-Key).
	Header string
	// Query, when set, is a query parameter that may carry the key
	// instead. Off by default: URLs end up in logs and browser histories.
	Query string
}

// Name implements Method.
func (a *APIKey) Name() string { return consumer.MethodAPIKey }

func (a *APIKey) header() string {
	if a.Header == "" {
		return DefaultAPIKeyHeader
	}
	return a.Header
}

// Challenge implements Method. There is no registered scheme for API keys;
// this one names the header to use.
func (a *APIKey) Challenge(realm string, _ *Error) string {
	return `APIKey realm="` + realm + `", header="` + a.header() + `"`
}

// Authenticate implements Method.
func (a *APIKey) Authenticate(r *http.Request) (*consumer.Identity, error) {
	key := r.Header.Get(a.header())
	if key == "" && a.Query != "" && r.URL.RawQuery != "" {
		key = r.URL.Query().Get(a.Query)
	}
	if key == "" {
		return nil, ErrNoCredentials
	}
	if len(key) > maxAPIKeyBytes {
		return nil, fail(ReasonMalformed, "the API key is too long", nil)
	}
	c, keyID, err := a.Store.ByAPIKey(r.Context(), consumer.HashKey(key))
	switch {
	case errors.Is(err, consumer.ErrNotFound):
		return nil, fail(ReasonUnknownAPIKey, "the API key is not valid", nil)
	case err != nil:
		return nil, fail(ReasonStore, "consumers are unavailable", err)
	case c.Disabled:
		return nil, fail(ReasonDisabled, "the consumer is disabled", nil)
	}
	id := &consumer.Identity{ConsumerID: c.ID, Method: consumer.MethodAPIKey, Credential: keyID}
	withRecord(id, c)
	return id, nil
}

// carries reports whether r holds this method's key, in the header or
// the query (under its name however escaped, as strip sees it).
func (a *APIKey) carries(r *http.Request) bool {
	if len(r.Header.Values(a.header())) > 0 {
		return true
	}
	if a.Query == "" {
		return false
	}
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if paramNamed(pair, a.Query) {
			return true
		}
	}
	return false
}

// strip removes the key from r, which the middleware owns (a copy with its
// own header map and URL).
func (a *APIKey) strip(r *http.Request) {
	r.Header.Del(a.header())
	if a.Query != "" && r.URL.RawQuery != "" {
		r.URL.RawQuery = withoutParam(r.URL.RawQuery, a.Query)
	}
}

// withoutParam removes from a raw query the parameters named name, however
// their name is escaped, and keeps the rest byte for byte: re-encoding the
// query (url.Values.Encode) would sort it, rewrite its escapes and drop
// what it cannot parse, which changes what the upstream reads or signs.
func withoutParam(raw, name string) string {
	var b strings.Builder
	for pair := range strings.SplitSeq(raw, "&") {
		if paramNamed(pair, name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// paramNamed reports whether a query pair is named name, however escaped.
// A pair holding ';' (which url.ParseQuery refuses, but some servers split
// on) is named name if any of its ';' parts is.
func paramNamed(pair, name string) bool {
	for part := range strings.SplitSeq(pair, ";") {
		k, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(k); err == nil && k == name {
			return true
		}
	}
	return false
}
