package authn

import (
	"errors"
	"net/http"
)

// Reason is why authentication failed. Reasons are a small fixed set: they
// label the failure metric and appear in the problem body's type.
type Reason string

// Reasons of authentication failures.
const (
	ReasonMissing            Reason = "missing_credentials"
	ReasonMalformed          Reason = "malformed"
	ReasonExpired            Reason = "expired"
	ReasonNotYetValid        Reason = "not_yet_valid"
	ReasonBadSignature       Reason = "bad_signature"
	ReasonUnknownKey         Reason = "unknown_key"
	ReasonAlgorithm          Reason = "algorithm_not_allowed"
	ReasonIssuer             Reason = "unknown_issuer"
	ReasonAudience           Reason = "bad_audience"
	ReasonClaims             Reason = "invalid_claims"
	ReasonKeysUnavailable    Reason = "keys_unavailable"
	ReasonUnknownAPIKey      Reason = "unknown_api_key"
	ReasonUnknownCertificate Reason = "unknown_certificate"
	ReasonUnknownConsumer    Reason = "unknown_consumer"
	ReasonDisabled           Reason = "disabled_consumer"
	ReasonStore              Reason = "store_error"
)

// Error is an authentication failure. Detail is written for the client:
// it says what was wrong without quoting secrets or the credential itself.
// Cause is for the log only.
type Error struct {
	Reason Reason
	Detail string
	Cause  error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return string(e.Reason) + ": " + e.Detail + ": " + e.Cause.Error()
	}
	return string(e.Reason) + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Cause }

// status is the HTTP status of a failure: 503 when the gateway, not the
// client, is at fault (keys or consumers unavailable), else 401.
func (e *Error) status() int {
	if e.Reason == ReasonKeysUnavailable || e.Reason == ReasonStore {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// ErrNoCredentials is returned by a Method when the request carries no
// credentials of its kind, so that the next method is tried.
var ErrNoCredentials = errors.New("no credentials")

func fail(reason Reason, detail string, cause error) *Error {
	return &Error{Reason: reason, Detail: detail, Cause: cause}
}
