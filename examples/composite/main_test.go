package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
)

// The example does what its doc says: one request, one merged answer; the
// mobile client type gets the slim one.
func TestCompositeExample(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	get := func(clientType string) map[string]any {
		req, _ := http.NewRequest("GET", "http://"+addr.String()+"/order-page/o1", nil)
		if clientType != "" {
			req.Header.Set("X-Client-Type", clientType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, err)
		}
		return doc
	}
	full := get("")
	if full["id"] != "o1" || full["customer"].(map[string]any)["name"] != "Ada" || len(full["recommendations"].([]any)) != 2 {
		t.Errorf("merged answer %v", full)
	}
	slim := get("mobile")
	if slim["recommendations"] != nil || slim["customer"].(map[string]any)["email"] != nil || slim["total"] != 42.5 {
		t.Errorf("mobile answer %v", slim)
	}
}
