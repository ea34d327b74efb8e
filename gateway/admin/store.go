package admin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/gatescale/gatescale/gateway/spec"
)

// ErrConflict is returned by Store.Save when the store is no longer at the
// base revision: someone else wrote first. The API answers 412.
var ErrConflict = errors.New("admin: the state changed since the base revision")

// ErrUnavailable wraps a failure to reach the store. The API answers 503.
var ErrUnavailable = errors.New("admin: store unavailable")

// ErrTooLarge is returned by Store.Save when the state, or one object of
// it, is larger than the store takes (Consul: 512 KiB per value and per
// transaction by default). Retrying cannot help. The API answers 413.
var ErrTooLarge = errors.New("admin: too large for the store")

// AuditSize is how many audit entries a store keeps.
const AuditSize = 100

// State is the declared state at one revision.
type State struct {
	// Revision counts the writes; 0 is the empty store.
	Revision uint64 `json:"revision"`
	// Config is the declared state.
	Config spec.Config `json:"config"`
}

// Change says who writes and why; the store adds the revision and time.
type Change struct {
	Actor   string
	Message string
}

// Entry is one audit log entry: a write that was committed.
type Entry struct {
	Revision uint64    `json:"revision"`
	Actor    string    `json:"actor"`
	Time     time.Time `json:"time"`
	Message  string    `json:"message,omitempty"`
	// Summary says what changed: "+route/a ~upstream/b -consumer/c".
	Summary []string `json:"summary"`
}

// Store keeps the declared state. Implementations are safe for concurrent
// use, also across processes.
type Store interface {
	// Load returns the state in force.
	Load(ctx context.Context) (State, error)
	// Save writes c as a revision above base (base+1, unless the store
	// has written higher ones before) if the store is still at base, and
	// returns the new revision; ErrConflict if it is not.
	Save(ctx context.Context, base uint64, c *spec.Config, ch Change) (uint64, error)
	// Watch calls fn with each new state (and the current one first), or
	// with an error while the store cannot be read, until ctx ends.
	Watch(ctx context.Context, fn func(State, error))
	// Audit returns the latest entries, newest first.
	Audit(ctx context.Context) ([]Entry, error)
	// At returns the state written at revision rev, kept for the last
	// AuditSize revisions (ErrNoHistory otherwise).
	At(ctx context.Context, rev uint64) (spec.Config, error)
}

// ErrNoHistory is returned by Store.At for a revision whose state is not
// kept (too old, or too large to keep).
var ErrNoHistory = errors.New("admin: the state of this revision is not kept")

// HistoryMax bounds a kept state, compressed: it travels in the write's
// Consul transaction, whose default limit is 512 KiB in all, counted with
// the values base64-encoded. A write whose objects and copy together are
// over that limit is stored without the copy.
const HistoryMax = 256 << 10

// snapshot compresses c for the history; nil if it is too large.
func snapshot(c *spec.Config) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(mustJSON(c))
	_ = zw.Close()
	if b.Len() > HistoryMax {
		return nil
	}
	return b.Bytes()
}

func unsnapshot(data []byte) (spec.Config, error) {
	var c spec.Config
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return c, err
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(raw, &c)
}

// Summary lists what differs between two states, one "+kind/name" (added),
// "~kind/name" (changed) or "-kind/name" (removed) per object, and
// "~settings" for the rest.
func Summary(old, cur *spec.Config) []string {
	out := []string{}
	diff := func(kind string, a, b map[string][]byte) {
		for _, k := range slices.Sorted(maps.Keys(b)) {
			switch prev, ok := a[k]; {
			case !ok:
				out = append(out, "+"+kind+"/"+k)
			case string(prev) != string(b[k]):
				out = append(out, "~"+kind+"/"+k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(a)) {
			if _, ok := b[k]; !ok {
				out = append(out, "-"+kind+"/"+k)
			}
		}
	}
	oo, co := objects(old), objects(cur)
	diff("upstream", oo.upstreams, co.upstreams)
	diff("route", oo.routes, co.routes)
	diff("consumer", oo.consumers, co.consumers)
	if string(oo.settings) != string(co.settings) {
		out = append(out, "~settings")
	}
	if len(out) == 0 && !slices.Equal(oo.routeOrder, co.routeOrder) {
		out = append(out, "~route-order")
	}
	return out
}

// split is a Config cut into its objects, each as JSON: the unit the
// Consul store keeps under one key and Summary compares.
type split struct {
	upstreams, routes, consumers map[string][]byte
	routeOrder, consumerOrder    []string
	settings                     []byte
}

func objects(c *spec.Config) split {
	s := split{upstreams: map[string][]byte{}, routes: map[string][]byte{}, consumers: map[string][]byte{}}
	if c == nil {
		c = &spec.Config{}
	}
	for k, u := range c.Upstreams {
		s.upstreams[k] = mustJSON(u)
	}
	for _, r := range c.Routes {
		s.routes[r.Name] = mustJSON(r)
		s.routeOrder = append(s.routeOrder, r.Name)
	}
	for _, cs := range c.Consumers {
		s.consumers[cs.ID] = mustJSON(cs)
		s.consumerOrder = append(s.consumerOrder, cs.ID)
	}
	rest := *c
	rest.Upstreams, rest.Routes, rest.Consumers = nil, nil, nil
	s.settings = mustJSON(rest)
	return s
}

// checkNames refuses what cannot be stored by name: duplicate or empty
// route names and consumer IDs (validation refuses them too).
func checkNames(c *spec.Config) error {
	seen := map[string]bool{}
	for _, r := range c.Routes {
		if r.Name == "" || seen["r/"+r.Name] {
			return fmt.Errorf("admin: route name %q empty or repeated", r.Name)
		}
		seen["r/"+r.Name] = true
	}
	for _, cs := range c.Consumers {
		if cs.ID == "" || seen["c/"+cs.ID] {
			return fmt.Errorf("admin: consumer id %q empty or repeated", cs.ID)
		}
		seen["c/"+cs.ID] = true
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // the model marshals; a failure is a bug
		panic(err)
	}
	return b
}

// clone deep-copies a Config through JSON, so callers cannot alias a
// store's state.
func clone(c *spec.Config) (spec.Config, error) {
	var out spec.Config
	err := json.Unmarshal(mustJSON(c), &out)
	return out, err
}
