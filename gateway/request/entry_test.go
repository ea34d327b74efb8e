package request

import (
	"context"
	"testing"
	"time"
)

// The entry node answers for the Info and its one value, passes every other
// key to its parent, and keeps the parent's cancellation.
func TestEntryContext(t *testing.T) {
	type k1 struct{}
	type k2 struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), k2{}, "parent"))
	ctx, info := EntryContext(parent, Client{}, k1{}, 7)
	if InfoFrom(ctx) != info {
		t.Fatal("InfoFrom does not return the entry's Info")
	}
	if c, ok := info.Client(); !ok || c != (Client{}) {
		t.Errorf("Client() = %v, %v", c, ok)
	}
	if ctx.Value(k1{}) != 7 || ctx.Value(k2{}) != "parent" {
		t.Errorf("values: %v, %v", ctx.Value(k1{}), ctx.Value(k2{}))
	}
	child, stop := context.WithTimeout(ctx, time.Hour)
	defer stop()
	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the parent did not reach a child of the entry context")
	}
	noKey, info2 := EntryContext(context.Background(), Client{}, nil, nil)
	if InfoFrom(noKey) != info2 || noKey.Value(k1{}) != nil {
		t.Error("entry context without a key")
	}
}
