package authn

import (
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// ForwardHeaders names the request headers that carry the caller's
// identity upstream. Empty names are not sent.
type ForwardHeaders struct {
	// ConsumerID gets Identity.ConsumerID, e.g. "X-Consumer-Id".
	ConsumerID string
	// Method gets Identity.Method ("jwt", "api_key", "mtls", "anonymous").
	Method string
	// Credential gets Identity.Credential (API key ID, issuer name or
	// certificate identity; never a secret).
	Credential string
	// Scopes, Roles and Groups get the lists, space-separated.
	Scopes, Roles, Groups string
}

func (h ForwardHeaders) names() []string {
	var out []string
	for _, n := range []string{h.ConsumerID, h.Method, h.Credential, h.Scopes, h.Roles, h.Groups} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Forward sends the identity in the request context upstream in the
// headers h names. It first deletes those headers (and request trailers of
// those names) from the request, whatever the client sent, in any case and with underscores for dashes
// too (CGI-style servers read X_Consumer_Id as X-Consumer-Id), so an
// upstream that trusts them only ever sees what the gateway established.
// Put it after the authentication middleware; on a route without
// authentication it only deletes.
func Forward(h ForwardHeaders) func(http.Handler) http.Handler {
	names := h.names()
	return func(next http.Handler) http.Handler {
		if len(names) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2 := new(http.Request)
			*r2 = *r
			r2.Header = make(http.Header, len(r.Header)+len(names))
			for k, v := range r.Header {
				if !forwarded(k, names) {
					r2.Header[k] = v
				}
			}
			// The same names declared as trailers would reach an upstream
			// that merges trailers into the header. The server fills in
			// trailer values at the end of the body, into this very map,
			// so a copy would lose them: the declarations are deleted in
			// place, and the proxy forwards only the declared trailers.
			for k := range r.Trailer {
				if forwarded(k, names) {
					delete(r.Trailer, k)
				}
			}
			if id := consumer.FromContext(r.Context()); id != nil {
				set := func(name, value string) {
					if name != "" && value != "" && httpguts.ValidHeaderFieldValue(value) {
						r2.Header.Set(name, value)
					}
				}
				set(h.ConsumerID, id.ConsumerID)
				set(h.Method, id.Method)
				set(h.Credential, id.Credential)
				set(h.Scopes, joinValid(id.Scopes))
				set(h.Roles, joinValid(id.Roles))
				set(h.Groups, joinValid(id.Groups))
			}
			next.ServeHTTP(w, r2)
		})
	}
}

// forwarded reports whether header key is one of names, ignoring case and
// treating '_' as '-'.
func forwarded(key string, names []string) bool {
	k := strings.ReplaceAll(key, "_", "-")
	for _, n := range names {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// joinValid joins the values that are safe in a space-separated list.
func joinValid(vals []string) string {
	var b strings.Builder
	for _, v := range vals {
		if v == "" || strings.ContainsAny(v, " \t\r\n") || !httpguts.ValidHeaderFieldValue(v) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v)
	}
	return b.String()
}
