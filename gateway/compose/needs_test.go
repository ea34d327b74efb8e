package compose_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gatescale/gatescale/gateway/compose"
)

func TestNeeds(t *testing.T) {
	c := compose.Composite{Calls: []compose.Call{
		{Name: "order", Upstream: "orders", Path: "/orders/{id}"},
		{Name: "user", Upstream: "users", Path: "/users/{order.user_id}", Headers: map[string]string{"X-Order": "{order.id}"}},
		{Name: "items", Upstream: "catalog", Path: "/items/{item.sku}", ForEach: "order.items", Query: map[string]string{"u": "{user.id}"}},
		{Name: "ads", Upstream: "ads", Path: "/ads", Query: map[string]string{"q": "{query.q}"}},
	}}
	got := c.Needs()
	want := [][]string{nil, {"order"}, {"user", "order"}, nil}
	if len(got) != len(want) {
		t.Fatalf("Needs() = %v, want %v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("Needs()[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func ExampleComposite_Needs() {
	c := compose.Composite{Calls: []compose.Call{
		{Name: "order", Upstream: "orders", Path: "/orders/{id}"},
		{Name: "user", Upstream: "users", Path: "/users/{order.user_id}"},
	}}
	fmt.Println(c.Needs())
	// Output: [[] [order]]
}
