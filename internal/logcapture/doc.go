// Package logcapture captures, for tests, what the code under test writes
// from goroutines of its own (a server's log, a console's output) while
// the test reads it: a Buffer is a bytes.Buffer whose every method holds
// one lock, so the race detector sees no race and a read sees whole
// writes.
package logcapture
