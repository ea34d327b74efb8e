package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Consul is a Store in Consul KV, shared by every replica. Its layout under
// Prefix:
//
//	state/manifest            {"revision":N,"upstreams":[...],"routes":[order],"consumers":[order]}
//	state/settings            the rest of the Config (auth, trusted proxies...)
//	state/upstreams/NAME      one upstream
//	state/routes/NAME         one route
//	state/consumers/ID        one consumer
//	audit/00000000000000000042  one audit Entry per revision, the last AuditSize kept
//	history/00000000000000000042  the state written at that revision, gzipped JSON (for rollback)
//	tokens/NAME               an admin token (TokenKeeper), outside state/ so no replica reloads
//
// Why: a Consul value is at most 512 KB, so one key per object keeps a large
// state storable and a write small (only the objects that changed are
// sent). A write is one transaction (Txn): the changed objects, the deleted
// ones, the audit entry, and the manifest with check-and-set on the
// manifest's ModifyIndex — every write changes the manifest, so a writer
// that read an older state loses the CAS and the whole transaction, with
// its objects, is rolled back (ErrConflict). Readers list state/ in one
// request, which Consul answers from one snapshot: they see a transaction
// whole or not at all. Watch is a blocking query on that list.
//
// A transaction holds at most MaxOps operations (Consul's limit is 128 in
// current versions, 64 in older ones). A larger write (a seed, an import)
// first stages its new objects, create-only, in as many transactions as
// needed: the manifest names every object of the state (readers ignore
// keys it does not name), so staged keys are invisible until the final
// transaction — changed and deleted objects, the audit entry and the
// manifest — commits. A write that changes or deletes more than MaxOps
// existing objects at once is refused rather than split.
type Consul struct {
	client *api.Client
	prefix string
	// WaitTime bounds one blocking query of Watch (default 30s).
	WaitTime time.Duration
}

// MaxOps is the most operations one write sends in its transaction.
const MaxOps = 64

// NewConsul returns a Store under prefix (e.g. "gatescale/admin").
func NewConsul(client *api.Client, prefix string) *Consul {
	return &Consul{client: client, prefix: strings.Trim(prefix, "/") + "/"}
}

func (s *Consul) String() string { return "consul:" + strings.TrimSuffix(s.prefix, "/") }

type manifest struct {
	Revision  uint64   `json:"revision"`
	Upstreams []string `json:"upstreams"`
	Routes    []string `json:"routes"`
	Consumers []string `json:"consumers"`
}

func (s *Consul) stateKey(parts ...string) string {
	for i := 1; i < len(parts); i++ {
		parts[i] = url.PathEscape(parts[i])
	}
	return s.prefix + "state/" + strings.Join(parts, "/")
}

func (s *Consul) auditKey(rev uint64) string { return fmt.Sprintf("%saudit/%020d", s.prefix, rev) }

func (s *Consul) historyKey(rev uint64) string { return fmt.Sprintf("%shistory/%020d", s.prefix, rev) }

func unavailable(err error) error { return fmt.Errorf("%w: %v", ErrUnavailable, err) }

// txnFailed classifies a transaction request that failed. Consul answers
// 413 to a transaction over txn_max_req_len or a value over
// kv_max_value_size ("Request body(N bytes) too large", "Value for key ...
// is too large"; the client keeps only the text): that is no outage, and
// the largest object of the state is named, as the likely culprit.
func txnFailed(err error, now split) error {
	if !strings.Contains(err.Error(), "too large") {
		return unavailable(err)
	}
	name, size := "settings", len(now.settings)
	for kind, m := range map[string]map[string][]byte{"upstream": now.upstreams, "route": now.routes, "consumer": now.consumers} {
		for n, v := range m {
			if len(v) > size {
				name, size = kind+"/"+n, len(v)
			}
		}
	}
	return fmt.Errorf("%w: consul refused the write: %v; the largest object is %s (%d bytes of JSON)", ErrTooLarge, err, name, size)
}

// list reads every state key in one request. A write reads with
// consistent set: a leader just elected (after a restart) may still answer
// from before its log was applied, and a base read there would refuse a
// good write as a conflict.
func (s *Consul) list(ctx context.Context, wait uint64, consistent bool) (api.KVPairs, *api.QueryMeta, error) {
	q := (&api.QueryOptions{WaitIndex: wait, WaitTime: s.WaitTime, RequireConsistent: consistent}).WithContext(ctx)
	pairs, meta, err := s.client.KV().List(s.prefix+"state/", q)
	if err != nil {
		return nil, nil, unavailable(err)
	}
	return pairs, meta, nil
}

// decode rebuilds a State from the state keys; the manifest's ModifyIndex
// is what the next write checks (0: no manifest yet).
func (s *Consul) decode(pairs api.KVPairs) (State, uint64, error) {
	var st State
	var m manifest
	var index uint64
	upstreams := map[string]spec.Upstream{}
	routes := map[string]spec.Route{}
	consumers := map[string]consumer.Consumer{}
	for _, p := range pairs {
		rest := strings.TrimPrefix(p.Key, s.prefix+"state/")
		kind, name, _ := strings.Cut(rest, "/")
		name, uerr := url.PathUnescape(name)
		var err error
		switch kind {
		case "manifest":
			err, index = json.Unmarshal(p.Value, &m), p.ModifyIndex
		case "settings":
			err = json.Unmarshal(p.Value, &st.Config)
		case "upstreams":
			var u spec.Upstream
			err = json.Unmarshal(p.Value, &u)
			upstreams[name] = u
		case "routes":
			var r spec.Route
			err = json.Unmarshal(p.Value, &r)
			routes[name] = r
		case "consumers":
			var c consumer.Consumer
			err = json.Unmarshal(p.Value, &c)
			consumers[name] = c
		default:
			continue // not ours: ignored
		}
		if err == nil {
			err = uerr
		}
		if err != nil {
			return State{}, 0, fmt.Errorf("consul key %s: %w", p.Key, err)
		}
	}
	// settings may have carried these; the object keys are authoritative.
	// Only the objects the manifest names are the state: keys staged by a
	// large write whose manifest is not committed yet stay invisible.
	st.Config.Upstreams, st.Config.Routes, st.Config.Consumers = nil, nil, nil
	st.Revision = m.Revision
	for _, n := range m.Upstreams {
		u, ok := upstreams[n]
		if !ok {
			return State{}, 0, fmt.Errorf("consul: manifest names upstream %q, which has no key", n)
		}
		if st.Config.Upstreams == nil {
			st.Config.Upstreams = map[string]spec.Upstream{}
		}
		st.Config.Upstreams[n] = u
	}
	for _, n := range m.Routes {
		r, ok := routes[n]
		if !ok {
			return State{}, 0, fmt.Errorf("consul: manifest names route %q, which has no key", n)
		}
		st.Config.Routes = append(st.Config.Routes, r)
	}
	for _, id := range m.Consumers {
		c, ok := consumers[id]
		if !ok {
			return State{}, 0, fmt.Errorf("consul: manifest names consumer %q, which has no key", id)
		}
		st.Config.Consumers = append(st.Config.Consumers, c)
	}
	return st, index, nil
}

// Load implements Store.
func (s *Consul) Load(ctx context.Context) (State, error) {
	pairs, _, err := s.list(ctx, 0, false)
	if err != nil {
		return State{}, err
	}
	st, _, err := s.decode(pairs)
	return st, err
}

// Save implements Store.
func (s *Consul) Save(ctx context.Context, base uint64, c *spec.Config, ch Change) (uint64, error) {
	if err := checkNames(c); err != nil {
		return 0, err
	}
	pairs, _, err := s.list(ctx, 0, true)
	if err != nil {
		return 0, err
	}
	cur, index, err := s.decode(pairs)
	if err != nil && base == 0 {
		return 0, err
	}
	if err != nil { // hand-edited keys: a write replaces them, if still at base
		var m manifest
		for _, p := range pairs {
			if p.Key == s.prefix+"state/manifest" {
				_ = json.Unmarshal(p.Value, &m)
				index = p.ModifyIndex
			}
		}
		cur = State{Revision: m.Revision}
	}
	if cur.Revision != base {
		return 0, ErrConflict
	}
	// Revisions never repeat, even when the state keys were deleted: the
	// audit entries, outside state/, name the highest revision written.
	high, err := s.highestAudit(ctx)
	if err != nil {
		return 0, err
	}
	old, now := objects(&cur.Config), objects(c)
	present := map[string]bool{}
	for _, p := range pairs {
		present[p.Key] = true
	}
	// Objects new to the state are staged ahead, in as many transactions as
	// they need: the manifest does not name them yet, so no reader sees
	// them. The final transaction holds the rest and the manifest.
	var ops, staged, cleanup api.TxnOps
	set := func(key string, v []byte) {
		ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVSet, Key: key, Value: v}})
	}
	del := func(key string) {
		ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: key}})
	}
	sync := func(kind string, a, b map[string][]byte) {
		for _, name := range slices.Sorted(maps.Keys(b)) {
			v, key := b[name], s.stateKey(kind, name)
			switch prev, known := a[name]; {
			case !known && !present[key]:
				// Create-only: two writers staging the same new name
				// cannot overwrite each other; the second gets ErrConflict.
				staged = append(staged, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: key, Value: v, Index: 0}})
			case !known: // a leftover key: replaced in the final transaction
				set(key, v)
			case string(prev) != string(v) || !present[key]:
				set(key, v)
			}
		}
		for name := range a {
			if _, ok := b[name]; !ok {
				del(s.stateKey(kind, name))
			}
		}
	}
	sync("upstreams", old.upstreams, now.upstreams)
	sync("routes", old.routes, now.routes)
	sync("consumers", old.consumers, now.consumers)
	// Keys no object of the state maps to (hand-added, or staged by a
	// write that lost its CAS) go away when there is room.
	want := map[string]bool{s.stateKey("manifest"): true, s.stateKey("settings"): true}
	for kind, m := range map[string]map[string][]byte{"upstreams": now.upstreams, "routes": now.routes, "consumers": now.consumers} {
		for name := range m {
			want[s.stateKey(kind, name)] = true
		}
	}
	for _, p := range pairs {
		if !want[p.Key] && !slices.ContainsFunc(ops, func(op *api.TxnOp) bool { return op.KV.Key == p.Key }) {
			cleanup = append(cleanup, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: p.Key}})
		}
	}
	if string(old.settings) != string(now.settings) || !present[s.stateKey("settings")] {
		set(s.stateKey("settings"), now.settings)
	}
	rev := max(base, high) + 1
	entry := Entry{Revision: rev, Actor: ch.Actor, Time: time.Now().UTC(), Message: ch.Message, Summary: Summary(&cur.Config, c)}
	set(s.auditKey(rev), mustJSON(entry))
	history := -1 // the index of the history copy in ops
	if snap := snapshot(c); snap != nil {
		history = len(ops)
		set(s.historyKey(rev), snap)
	}
	if rev > AuditSize {
		del(s.auditKey(rev - AuditSize))
		del(s.historyKey(rev - AuditSize))
	}
	if len(ops)+len(staged)+1 <= MaxOps { // all in one transaction: the usual case
		for _, op := range staged {
			set(op.KV.Key, op.KV.Value)
		}
		staged = nil
	}
	if len(ops)+1 > MaxOps {
		return 0, fmt.Errorf("admin: this change rewrites or deletes %d existing keys; one Consul transaction holds at most %d (new objects do not count)", len(ops)+1, MaxOps)
	}
	ops = append(ops, cleanup[:min(len(cleanup), MaxOps-1-len(ops))]...)
	if err := s.stage(ctx, staged, now); err != nil {
		return 0, err
	}
	m := manifest{Revision: rev, Upstreams: slices.Sorted(maps.Keys(now.upstreams)), Routes: now.routeOrder, Consumers: now.consumerOrder}
	// The manifest last, with CAS: index 0 means "must not exist yet".
	ops = append(ops, &api.TxnOp{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: s.stateKey("manifest"), Value: mustJSON(m), Index: index}})
	ok, resp, _, err := s.client.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil && history >= 0 && strings.Contains(err.Error(), "too large") {
		// Consul counts the request as sent, values base64-encoded (a
		// third larger): the objects may fit without their history copy,
		// which is optional (At says ErrNoHistory). A refused request
		// changed nothing.
		ops = slices.Delete(ops, history, history+1)
		ok, resp, _, err = s.client.Txn().Txn(ops, (&api.QueryOptions{}).WithContext(ctx))
	}
	if err != nil {
		return 0, txnFailed(err, now)
	}
	if !ok {
		if resp != nil && len(resp.Errors) > 0 && resp.Errors[0].OpIndex == len(ops)-1 {
			return 0, ErrConflict
		}
		var msgs []string
		if resp != nil {
			for _, e := range resp.Errors {
				msgs = append(msgs, e.What)
			}
		}
		if len(msgs) == 0 || strings.Contains(strings.Join(msgs, ";"), "index") {
			return 0, ErrConflict
		}
		return 0, errors.New("admin: consul transaction refused: " + strings.Join(msgs, "; "))
	}
	return rev, nil
}

// highestAudit returns the highest revision with an audit entry (0: none).
func (s *Consul) highestAudit(ctx context.Context) (uint64, error) {
	keys, _, err := s.client.KV().Keys(s.prefix+"audit/", "", (&api.QueryOptions{RequireConsistent: true}).WithContext(ctx))
	if err != nil {
		return 0, unavailable(err)
	}
	var high uint64
	for _, k := range keys {
		if n, err := strconv.ParseUint(strings.TrimPrefix(k, s.prefix+"audit/"), 10, 64); err == nil {
			high = max(high, n)
		}
	}
	return high, nil
}

// stage writes new objects' keys ahead of the manifest, in transactions
// of at most MaxOps operations and about 256 KB. Only a write with more
// than MaxOps operations stages; any other is one transaction.
func (s *Consul) stage(ctx context.Context, staged api.TxnOps, now split) error {
	for len(staged) > 0 {
		n, size := 0, 0
		for n < len(staged) && n < MaxOps && (n == 0 || size+len(staged[n].KV.Value) < 256<<10) {
			size += len(staged[n].KV.Value)
			n++
		}
		ok, _, _, err := s.client.Txn().Txn(staged[:n], (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return txnFailed(err, now)
		}
		if !ok { // a key exists: another writer is creating it
			return ErrConflict
		}
		staged = staged[n:]
	}
	return nil
}

// Watch implements Store with blocking queries on the state keys. A state
// older than the one it delivered (the state keys deleted) is reported as
// an error, not delivered. While
// Consul cannot be reached it reports the error and retries with a backoff
// up to 5s; the caller keeps what it has.
func (s *Consul) Watch(ctx context.Context, fn func(State, error)) {
	var index uint64
	var delivered uint64 // the revision last delivered
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		pairs, meta, err := s.list(ctx, index, false)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fn(State{}, err)
			index = 0
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		if meta.LastIndex == index {
			continue // the wait timed out: nothing changed
		}
		index = meta.LastIndex
		if index < 1 {
			index = 1
		}
		st, _, err := s.decode(pairs)
		if err == nil && st.Revision < delivered {
			// The state keys deleted, or an older state put back:
			// delivering it would drop what was written since. The next
			// write takes a revision above every earlier one (Save).
			fn(State{}, fmt.Errorf("%w: %s went back from revision %d to %d (state keys deleted or replaced); revision %d stays in force until the next write",
				ErrUnavailable, s, delivered, st.Revision, delivered))
			continue
		}
		if err == nil {
			delivered = st.Revision
		}
		fn(st, err)
	}
}

// Audit implements Store.
func (s *Consul) Audit(ctx context.Context) ([]Entry, error) {
	pairs, _, err := s.client.KV().List(s.prefix+"audit/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]Entry, 0, len(pairs))
	for _, p := range pairs {
		var e Entry
		if err := json.Unmarshal(p.Value, &e); err != nil {
			continue // a hand-edited entry is not worth failing the log
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision > out[j].Revision })
	return out, nil
}

// At implements Store.
func (s *Consul) At(ctx context.Context, rev uint64) (spec.Config, error) {
	p, _, err := s.client.KV().Get(s.historyKey(rev), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return spec.Config{}, unavailable(err)
	}
	if p == nil {
		return spec.Config{}, ErrNoHistory
	}
	return unsnapshot(p.Value)
}

func (s *Consul) tokenKey(name string) string { return s.prefix + "tokens/" + url.PathEscape(name) }

// Tokens implements TokenKeeper: one key per token under tokens/, outside
// state/ so that changing them wakes no replica's watch.
func (s *Consul) Tokens(ctx context.Context) ([]Token, error) {
	pairs, _, err := s.client.KV().List(s.prefix+"tokens/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable(err)
	}
	var out []Token
	for _, p := range pairs {
		var t Token
		if json.Unmarshal(p.Value, &t) == nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// PutToken implements TokenKeeper.
func (s *Consul) PutToken(ctx context.Context, t Token) error {
	_, err := s.client.KV().Put(&api.KVPair{Key: s.tokenKey(t.Name), Value: mustJSON(t)}, (&api.WriteOptions{}).WithContext(ctx))
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// DeleteToken implements TokenKeeper.
func (s *Consul) DeleteToken(ctx context.Context, name string) (bool, error) {
	p, _, err := s.client.KV().Get(s.tokenKey(name), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return false, unavailable(err)
	}
	if p == nil {
		return false, nil
	}
	if _, err := s.client.KV().Delete(s.tokenKey(name), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return false, unavailable(err)
	}
	return true, nil
}
