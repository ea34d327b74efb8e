// Package problem writes RFC 9457 problem details (application/problem+json)
// for responses the gateway produces itself: no route, no healthy instance,
// upstream timeout, body too large. A client can tell a gateway error from an
// upstream's own error body by the content type and the "route" member.
package problem
