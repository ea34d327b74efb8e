package consumer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Memory is a Store held in memory. Reads are lock-free (an atomic load of
// an immutable snapshot); Replace, Put and Delete build a new snapshot and
// swap it, so a request never sees half an update. The zero value is not
// usable: create one with NewMemory.
type Memory struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[snapshot]
}

type snapshot struct {
	list  []Consumer // in the order given, for List
	byID  map[string]*Consumer
	byKey map[KeyHash]keyEntry
	byCrt map[string]*Consumer
}

type keyEntry struct {
	c    *Consumer
	id   string
	hash KeyHash
}

// NewMemory returns a Memory holding consumers (see Replace).
func NewMemory(consumers []Consumer) (*Memory, error) {
	m := &Memory{}
	if err := m.Replace(consumers); err != nil {
		return nil, err
	}
	return m, nil
}

// Replace validates consumers and, if they are all valid, makes them the
// store's content. On error the content does not change; the error lists
// every problem, each prefixed with consumers[i].
func (m *Memory) Replace(consumers []Consumer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := build(consumers)
	if err != nil {
		return err
	}
	m.snap.Store(s)
	return nil
}

// Put adds c, or replaces the consumer with its ID, after validating the
// result as Replace does.
func (m *Memory) Put(c Consumer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := slices.Clone(m.snap.Load().list)
	if i := slices.IndexFunc(list, func(o Consumer) bool { return o.ID == c.ID }); i >= 0 {
		list[i] = c
	} else {
		list = append(list, c)
	}
	s, err := build(list)
	if err != nil {
		return err
	}
	m.snap.Store(s)
	return nil
}

// Delete removes the consumer with this ID and reports whether it existed.
func (m *Memory) Delete(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.snap.Load().list
	i := slices.IndexFunc(list, func(o Consumer) bool { return o.ID == id })
	if i < 0 {
		return false
	}
	s, err := build(slices.Delete(slices.Clone(list), i, i+1))
	if err != nil { // cannot happen: removing a consumer never makes the set invalid
		return false
	}
	m.snap.Store(s)
	return true
}

// List returns a copy of every consumer, in order.
func (m *Memory) List() []Consumer {
	list := m.snap.Load().list
	out := make([]Consumer, len(list))
	for i, c := range list {
		out[i] = clone(c)
	}
	return out
}

// Consumer implements Store.
func (m *Memory) Consumer(_ context.Context, id string) (*Consumer, error) {
	if c, ok := m.snap.Load().byID[id]; ok {
		return c, nil
	}
	return nil, ErrNotFound
}

// ByAPIKey implements Store. The map lookup is by the key's SHA-256, so its
// timing can tell an attacker nothing about a stored key; the final
// comparison is constant-time all the same, so that no future change to
// the lookup can turn it into a timing oracle.
func (m *Memory) ByAPIKey(_ context.Context, hash KeyHash) (*Consumer, string, error) {
	e, ok := m.snap.Load().byKey[hash]
	if !ok || subtle.ConstantTimeCompare(e.hash[:], hash[:]) != 1 {
		return nil, "", ErrNotFound
	}
	return e.c, e.id, nil
}

// ByCertificate implements Store.
func (m *Memory) ByCertificate(_ context.Context, identity string) (*Consumer, error) {
	if c, ok := m.snap.Load().byCrt[normalCertIdentity(identity)]; ok {
		return c, nil
	}
	return nil, ErrNotFound
}

func clone(c Consumer) Consumer {
	c.Roles = slices.Clone(c.Roles)
	c.Groups = slices.Clone(c.Groups)
	c.Scopes = slices.Clone(c.Scopes)
	c.Metadata = maps.Clone(c.Metadata)
	c.APIKeys = slices.Clone(c.APIKeys)
	c.Certificates = slices.Clone(c.Certificates)
	c.RateLimit = slices.Clone(c.RateLimit)
	return c
}

// Validate checks consumers as Replace does, without storing them.
func Validate(consumers []Consumer) error {
	_, err := build(consumers)
	return err
}

// maxNameBytes bounds consumer and key IDs, as authn bounds JWT subjects.
const maxNameBytes = 256

// badName says what makes a consumer or key ID unfit for what it is used
// in (identity headers sent upstream, rate-limit keys, logs), or "". A
// header cannot carry a control character, so such an ID went upstream as
// no header at all; white space at an end is trimmed by the upstream's
// parser, so "alice " arrived as "alice".
func badName(s string) string {
	if len(s) > maxNameBytes {
		return fmt.Sprintf("is %d bytes long, more than %d", len(s), maxNameBytes)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f {
			return fmt.Sprintf("%q has a control character", s)
		}
	}
	if strings.TrimSpace(s) != s {
		return fmt.Sprintf("%q begins or ends with white space", s)
	}
	return ""
}

func build(consumers []Consumer) (*snapshot, error) {
	s := &snapshot{
		byID:  map[string]*Consumer{},
		byKey: map[KeyHash]keyEntry{},
		byCrt: map[string]*Consumer{},
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	keyIDs := map[string]string{} // key id -> its path
	s.list = make([]Consumer, len(consumers))
	for i := range consumers {
		c := clone(consumers[i])
		s.list[i] = c
		cp := &s.list[i]
		path := fmt.Sprintf("consumers[%d]", i)
		switch why := badName(c.ID); {
		case strings.TrimSpace(c.ID) == "":
			bad("%s.id: is required", path)
		case why != "":
			bad("%s.id: %s", path, why)
		case s.byID[c.ID] != nil:
			bad("%s.id: %q is already used", path, c.ID)
		default:
			s.byID[c.ID] = cp
		}
		for j, k := range c.APIKeys {
			kp := fmt.Sprintf("%s.api_keys[%d]", path, j)
			if strings.TrimSpace(k.ID) == "" {
				bad("%s.id: is required (a name for the key, not the key)", kp)
			} else if why := badName(k.ID); why != "" {
				bad("%s.id: %s", kp, why)
			} else if other, dup := keyIDs[k.ID]; dup {
				bad("%s.id: %q is already used by %s", kp, k.ID, other)
			} else {
				keyIDs[k.ID] = kp
			}
			h, err := ParseKeyHash(k.SHA256)
			if err != nil {
				bad("%s.sha256: %v", kp, err)
				continue
			}
			if _, dup := s.byKey[h]; dup {
				bad("%s.sha256: the same key is listed twice", kp)
				continue
			}
			s.byKey[h] = keyEntry{c: cp, id: k.ID, hash: h}
		}
		checkLimits(cp, path, bad)
		for j, crt := range c.Certificates {
			if !validCertIdentity(crt) {
				bad("%s.certificates[%d]: %q is not one of cn:, subject:, dns:, uri:, email: or sha256: followed by a value", path, j, crt)
				continue
			}
			n := normalCertIdentity(crt)
			if other, dup := s.byCrt[n]; dup {
				bad("%s.certificates[%d]: %q is already used by consumer %q", path, j, crt, other.ID)
				continue
			}
			s.byCrt[n] = cp
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}
