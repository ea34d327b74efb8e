package consumer_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/gatescale/gatescale/gateway/consumer"
)

func ExampleNewMemory() {
	// The key is given to the consumer once; only its hash is stored.
	key := "gsk_example-only-use-GenerateKey"
	store, err := consumer.NewMemory([]consumer.Consumer{{
		ID:      "alice",
		Roles:   []string{"admin"},
		APIKeys: []consumer.APIKey{{ID: "alice-cli", SHA256: consumer.HashKey(key).String()}},
	}})
	if err != nil {
		panic(err)
	}
	c, keyID, err := store.ByAPIKey(context.Background(), consumer.HashKey(key))
	fmt.Println(c.ID, keyID, err)
	// Output: alice alice-cli <nil>
}

func ExampleGenerateKey() {
	key, hash := consumer.GenerateKey("gsk_")
	// Give key to the consumer; put hash.String() in its api_keys.
	fmt.Println(len(key), len(hash.String()))
	// Output: 47 64
}

func ExampleFromContext() {
	r := httptest.NewRequest("GET", "/", nil)
	id := &consumer.Identity{ConsumerID: "alice", Method: consumer.MethodAPIKey, Scopes: []string{"orders:read"}}
	r = r.WithContext(consumer.NewContext(r.Context(), id))

	// In a handler or middleware behind authentication:
	if who := consumer.FromContext(r.Context()); !who.Anonymous() {
		fmt.Println(who.ConsumerID, who.Method, who.HasScope("orders:read"))
	}
	// Output: alice api_key true
}

func ExampleParseFile() {
	_, err := consumer.ParseFile("consumers.yaml", []byte("consumers:\n  - id: bob\n    api_keys: [{id: k, sha256: nothex}]\n"))
	fmt.Println(err)
	// Output: consumers.yaml: consumers[0].api_keys[0].sha256: "nothex" is not a hex SHA-256 (64 hex digits)
}

func ExampleLoadFile() {
	dir, _ := os.MkdirTemp("", "consumers")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "consumers.yaml")
	_ = os.WriteFile(path, []byte("consumers:\n  - id: billing\n    certificates: [\"uri:spiffe://example.org/billing\"]\n"), 0o600)

	f, err := consumer.LoadFile(path)
	if err != nil {
		panic(err)
	}
	// In a server: go f.Watch(ctx, 2*time.Second, logger) picks up edits.
	c, err := f.ByCertificate(context.Background(), "uri:spiffe://example.org/billing")
	fmt.Println(c.ID, err)
	// Output: billing <nil>
}
