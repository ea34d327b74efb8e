// Package lifecycle serves a route's API lifecycle state (spec.Lifecycle):
// a draft route answers only requests carrying PreviewHeader, a deprecated
// one adds Deprecation (RFC 9745), Sunset (RFC 8594) and a successor Link,
// a retired one answers 410 with a problem body naming its successor.
// Transition says which state changes make sense, for the admin API.
package lifecycle
