package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gatescale/gatescale/gateway/health"
)

func ExamplePassive() {
	p := health.Passive{ConsecutiveFailures: 3, BaseEjection: 30 * time.Second, MaxEjection: time.Minute}
	var s health.State
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

	for round := 1; round <= 3; round++ {
		for i := 1; i <= 3; i++ {
			// The upstream has 4 instances, none ejected yet.
			if p.Observe(&s, true, now) && p.MayEject(0, 4) {
				until := p.Eject(&s, now)
				fmt.Printf("ejected after %d failures for %v\n", i, until.Sub(now))
				now = until
				s.Readmit() // normally from a timer at until
			}
		}
	}
	// A single instance is never ejected at the default 50%.
	fmt.Println("may eject the only instance:", health.Passive{}.MayEject(0, 1))
	// Output:
	// ejected after 3 failures for 30s
	// ejected after 3 failures for 1m0s
	// ejected after 3 failures for 1m0s
	// may eject the only instance: false
}

// An instance's weight changed: the State of its new balancer endpoint
// takes over the old one's, so an ejection in force stays in force.
func ExampleState_Inherit() {
	p := health.Passive{ConsecutiveFailures: 1}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var old health.State
	if p.Observe(&old, true, now) && p.MayEject(0, 4) {
		p.Eject(&old, now)
	}
	var next health.State
	next.Inherit(&old)
	fmt.Println(next.Ejected(now), next.EjectedUntil().Sub(now), next.Ejections())
	// Output: true 30s 1
}

// An upstream rebuilt with a shorter base_ejection takes over an
// instance's State: its ejection now ends by the new settings, counted from
// when it began.
func ExamplePassive_Reschedule() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var old health.State
	health.Passive{BaseEjection: time.Hour, MaxEjection: time.Hour}.Eject(&old, now)

	later := now.Add(5 * time.Minute) // the reload
	var next health.State
	next.Inherit(&old)
	until := health.Passive{BaseEjection: 10 * time.Minute, MaxEjection: time.Hour}.Reschedule(&next, later)
	fmt.Println(until.Sub(now), next.Ejected(later))
	// Output: 10m0s true
}

// An upstream rebuilt without passive health takes over an instance's
// State but drops the ejection, which nothing there would end.
func ExampleState_ForgetPassive() {
	p := health.Passive{ConsecutiveFailures: 1}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var old health.State
	if p.Observe(&old, true, now) && p.MayEject(0, 4) {
		p.Eject(&old, now)
	}
	var next health.State
	next.Inherit(&old)
	next.ForgetPassive()
	fmt.Println(next.Ejected(now), next.Ejections())
	// Output: false 0
}

// An upstream rebuilt without active checks drops their verdict: no probe
// would bring the instance back.
func ExampleState_ForgetActive() {
	a := health.Active{UnhealthyThreshold: 1}
	var old health.State
	a.Record(&old, errors.New("connection refused"))
	var next health.State
	next.Inherit(&old)
	fmt.Println(next.ActiveDown())
	next.ForgetActive()
	fmt.Println(next.ActiveDown())
	// Output:
	// true
	// false
}

func ExampleActive() {
	var status atomic.Int32 // the backend's answer
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)

	a := health.Active{UnhealthyThreshold: 2, HealthyThreshold: 1}
	var s health.State
	probe := func() {
		err := a.Probe(context.Background(), base)
		changed := a.Record(&s, err)
		fmt.Printf("ok=%v changed=%v down=%v\n", err == nil, changed, s.ActiveDown())
	}
	probe()
	status.Store(http.StatusInternalServerError)
	probe()
	probe()
	status.Store(http.StatusOK)
	probe()
	// Output:
	// ok=true changed=false down=false
	// ok=false changed=false down=false
	// ok=false changed=true down=true
	// ok=true changed=true down=false
}

// A gRPC health check: the standard grpc.health.v1 service asked about
// one service, over h2c for http instances.
func ExampleGRPC() {
	a := health.Active{GRPC: &health.GRPC{Service: "orders.Orders"}, Interval: 2 * time.Second}
	err := a.Probe(context.Background(), &url.URL{Scheme: "http", Host: "127.0.0.1:1"}) // nothing listens there
	fmt.Println(err != nil)
	// Output: true
}

func ExampleParseGRPCCheckResponse() {
	// One uncompressed message of 2 bytes: field 1 (status) = 1 (SERVING).
	status, err := health.ParseGRPCCheckResponse([]byte{0, 0, 0, 0, 2, 0x08, 0x01})
	fmt.Println(status, err)
	// Output: 1 <nil>
}
