//go:build !unix

package admin

// lockFile is a no-op where flock is missing: writers in one process are
// still serialised by the File's mutex.
func lockFile(string) (func(), error) { return func() {}, nil }
