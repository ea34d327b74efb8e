//go:build race

package route_test

// raceEnabled: the race detector makes sync.Pool drop some of what is put
// back, so a pooled object is sometimes allocated again.
const raceEnabled = true
