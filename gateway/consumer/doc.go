// Package consumer holds who may call the gateway: the Consumer records
// (identity, roles, groups, scopes, API key hashes, certificate
// identities), the Identity that authentication establishes for one
// request and carries in its context, and the Store interface the
// authenticators read consumers from.
//
// Consumers are data that an operator changes at run time, so the gateway
// reads them only through Store. Memory is a Store held in memory and
// swapped atomically (Replace, Put, Delete); File is a Memory loaded from a
// YAML file and reloaded when the file changes:
//
//	consumers:
//	  - id: alice
//	    roles: [admin]
//	    scopes: [orders:read, orders:write]
//	    api_keys:
//	      - {id: alice-cli, sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}
//	    certificates: ["uri:spiffe://example.org/alice", "cn:alice"]
//
// API keys are never stored: only the SHA-256 of each key is. Keys are
// meant to be high-entropy random strings (GenerateKey makes them), for
// which an unsalted fast hash is the right tool: nobody can guess a 256-bit
// key from its hash, and the hash lets the gateway look a key up in one
// step. (Passwords, which are low-entropy, would need a slow salted hash;
// API keys are not passwords.)
package consumer
