package tcprelay_test

import (
	"testing"

	"github.com/gatescale/gatescale/internal/tcprelay"
)

// Cut a client off a real server for a while, on the address it was given.
func ExampleStart() {
	var t testing.TB // the test's
	if t == nil {
		return // (an example without a server to relay to)
	}
	r := tcprelay.Start(t, "127.0.0.1:8500") // the real server's address
	_ = "http://" + r.Addr                   // what the client under test is given
	r.Cut()                                  // the server went down: connections dropped, new ones refused
	r.Restore(t)                             // it is back, on the same address
	r.Refuse()                               // a load balancer with no server behind it
	<-r.Refused()                            // the client tried
	r.Restore(t)
}
