package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Role is what an admin token may do.
type Role int

// Roles, each allowed what the ones before it are.
const (
	// Viewer reads (GET) only.
	Viewer Role = iota + 1
	// Operator also writes routes and consumers (and their keys).
	Operator
	// Admin may do everything, upstreams included.
	Admin
)

func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	}
	return "none"
}

// ParseRole parses "viewer", "operator" or "admin".
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{Viewer, Operator, Admin} {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: want viewer, operator or admin", s)
}

// Token is one admin token as the tokens file holds it: only the SHA-256
// of the secret is kept, so the file is not a credential itself.
type Token struct {
	// Name is the actor the audit log records.
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Role   string `json:"role"`
}

// Tokens are the admin tokens, by hash.
type Tokens struct {
	byHash map[[32]byte]tokenEntry
}

type tokenEntry struct {
	name string
	role Role
}

// HashToken returns the hex SHA-256 a tokens file stores for secret.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// ParseTokens parses a tokens file: {"tokens":[{"name","sha256","role"}]}.
func ParseTokens(data []byte) (*Tokens, error) {
	var doc struct {
		Tokens []Token `json:"tokens"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	return NewTokens(doc.Tokens...)
}

// LoadTokens reads a tokens file.
func LoadTokens(path string) (*Tokens, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := ParseTokens(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// NewTokens checks and indexes tokens.
func NewTokens(tokens ...Token) (*Tokens, error) {
	t := &Tokens{byHash: map[[32]byte]tokenEntry{}}
	for i, tk := range tokens {
		role, err := ParseRole(tk.Role)
		if err != nil {
			return nil, fmt.Errorf("admin tokens[%d]: %w", i, err)
		}
		b, err := hex.DecodeString(strings.TrimSpace(tk.SHA256))
		if err != nil || len(b) != 32 || tk.Name == "" {
			return nil, fmt.Errorf("admin tokens[%d]: want a name and a 64-hex-digit sha256", i)
		}
		var h [32]byte
		copy(h[:], b)
		if _, dup := t.byHash[h]; dup {
			return nil, fmt.Errorf("admin tokens[%d]: the same secret twice", i)
		}
		t.byHash[h] = tokenEntry{name: tk.Name, role: role}
	}
	return t, nil
}

// lookup finds a secret's token. Comparing hashes through a map leaks
// nothing useful: the attacker would learn about the hash, not the secret.
func (t *Tokens) lookup(secret string) (name string, role Role, ok bool) {
	if t == nil || secret == "" {
		return "", 0, false
	}
	e, ok := t.byHash[sha256.Sum256([]byte(secret))]
	return e.name, e.role, ok
}

// TokenKeeper is a Store that also keeps admin tokens, shared by every
// replica like the state (File and Consul do). Tokens are not part of the
// state: changing them makes no revision.
type TokenKeeper interface {
	// Tokens returns the kept tokens.
	Tokens(ctx context.Context) ([]Token, error)
	// PutToken adds or replaces the token named t.Name.
	PutToken(ctx context.Context, t Token) error
	// DeleteToken removes a token; false if there was none.
	DeleteToken(ctx context.Context, name string) (bool, error)
}
