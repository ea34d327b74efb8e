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
