package discovery_test

import (
	"context"
	"fmt"

	"github.com/gatescale/gatescale/gateway/discovery"
)

func ExampleStatic() {
	s := discovery.NewStatic(map[string][]discovery.Instance{"users": {{Addr: "127.0.0.1:9001"}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updates := make(chan discovery.Update, 2) // Set delivers before it returns
	go func() { _ = s.Watch(ctx, "users", func(u discovery.Update) { updates <- u }) }()

	fmt.Println(len((<-updates).Instances), "instance(s)") // delivered at once
	s.Set("users", []discovery.Instance{{Addr: "127.0.0.1:9001"}, {Addr: "127.0.0.1:9002"}})
	fmt.Println(len((<-updates).Instances), "instance(s)") // pushed on change
	// Output:
	// 1 instance(s)
	// 2 instance(s)
}

// NewStatic copies the lists it is given, and knows only those services.
// With a context already cancelled, Watch delivers the current list and
// returns at once.
func ExampleNewStatic() {
	services := map[string][]discovery.Instance{"users": {{Addr: "10.0.0.1:80"}}}
	s := discovery.NewStatic(services)
	services["users"][0].Addr = "10.0.0.9:80" // not seen by s: it holds a copy

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Watch(ctx, "users", func(u discovery.Update) { fmt.Println(u.Instances[0].Addr) })
	fmt.Println(err)
	fmt.Println(s.Watch(ctx, "orders", func(discovery.Update) {}))
	// Output:
	// 10.0.0.1:80
	// <nil>
	// static resolver: no service "orders"
}
