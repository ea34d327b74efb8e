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

// Validate checks consumers as a Store's Replace would, all problems at
// once, without storing them: for a consumers file before it is used.
func ExampleValidate() {
	key := consumer.HashKey("gsk_example-only").String()
	err := consumer.Validate([]consumer.Consumer{
		{ID: "alice", APIKeys: []consumer.APIKey{{ID: "cli", SHA256: key}}},
		{ID: "bob", APIKeys: []consumer.APIKey{{ID: "cli", SHA256: key}}},
		{ID: "alice", Certificates: []string{"spiffe://example.org/alice"}},
	})
	fmt.Println(err)
	// Output:
	// consumers[1].api_keys[0].id: "cli" is already used by consumers[0].api_keys[0]
	// consumers[1].api_keys[0].sha256: the same key is listed twice
	// consumers[2].id: "alice" is already used
	// consumers[2].certificates[0]: "spiffe://example.org/alice" is not one of cn:, subject:, dns:, uri:, email: or sha256: followed by a value
}

// Merge combines what a token grants with what the consumer record adds,
// each value once and the token's first.
func ExampleMerge() {
	fromToken := []string{"orders:read", "orders:write"}
	fromConsumer := []string{"orders:read", "", "billing:read"}
	fmt.Println(consumer.Merge(fromToken, fromConsumer))
	// Output: [orders:read orders:write billing:read]
}

// HashKey is how a key is stored and looked up: its SHA-256, written in
// hex in the consumer's api_keys.
func ExampleHashKey() {
	h := consumer.HashKey("gsk_example-only")
	parsed, err := consumer.ParseKeyHash(h.String())
	fmt.Println(len(h.String()), parsed == h, err)
	fmt.Println(h.String()[:16]) // sha256sum's first digits for the same bytes
	// Output:
	// 64 true <nil>
	// d31d3cc0030fded9
}
