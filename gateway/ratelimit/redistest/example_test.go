package redistest_test

import (
	"fmt"
	"os"

	"github.com/gatescale/gatescale/gateway/ratelimit/redistest"
)

// In a test, redistest.Start(t) does all of this and skips the test when
// redis-server is missing (unless GATESCALE_REQUIRE_REAL is set).
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "redis")
	defer os.RemoveAll(dir)
	srv, err := redistest.New(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	fmt.Println("redis on", srv.Addr)
}
