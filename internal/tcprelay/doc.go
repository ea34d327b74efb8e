// Package tcprelay forwards TCP connections to a real server through an
// address a test controls, so the test can cut a client off the server —
// drop its connections and refuse new ones, as an outage does — and let it
// through again on the same address, while the server itself keeps running
// with its state.
package tcprelay
