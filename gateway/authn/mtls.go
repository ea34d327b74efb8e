package authn

import (
	"errors"
	"net/http"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// MTLS authenticates the client certificate of a TLS connection, verified
// by the listener against its client CAs (tls.Config.ClientCAs with
// ClientAuth VerifyClientCertIfGiven or RequireAndVerifyClientCert). A
// certificate the listener did not verify is no credential at all. The
// certificate's identities (consumer.CertIdentities) are looked up in
// Store, most specific first.
type MTLS struct {
	// Store maps certificate identities to consumers. Required.
	Store consumer.Store
}

// Name implements Method.
func (m *MTLS) Name() string { return consumer.MethodMTLS }

// Challenge implements Method. HTTP has no challenge for client
// certificates (they are asked for in the TLS handshake); this one says
// what is expected, as RFC 9110 wants at least one challenge in a 401.
func (m *MTLS) Challenge(realm string, _ *Error) string {
	return `ClientCertificate realm="` + realm + `"`
}

// Authenticate implements Method.
func (m *MTLS) Authenticate(r *http.Request) (*consumer.Identity, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, ErrNoCredentials
	}
	leaf := r.TLS.VerifiedChains[0][0]
	for _, ident := range consumer.CertIdentities(leaf) {
		c, err := m.Store.ByCertificate(r.Context(), ident)
		switch {
		case errors.Is(err, consumer.ErrNotFound):
			continue
		case err != nil:
			return nil, fail(ReasonStore, "consumers are unavailable", err)
		case c.Disabled:
			return nil, fail(ReasonDisabled, "the consumer is disabled", nil)
		}
		id := &consumer.Identity{ConsumerID: c.ID, Method: consumer.MethodMTLS, Credential: ident}
		withRecord(id, c)
		return id, nil
	}
	return nil, fail(ReasonUnknownCertificate, "the client certificate is not mapped to a consumer", nil)
}
