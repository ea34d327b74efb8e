package admin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/gatescale/gatescale/gateway/admin"
	"github.com/gatescale/gatescale/gateway/consumer"
	"github.com/gatescale/gatescale/gateway/spec"
	"github.com/gatescale/gatescale/internal/consultest"
)

func sample(backend string, routes ...string) *spec.Config {
	c := &spec.Config{Upstreams: map[string]spec.Upstream{"b": {Instances: []spec.Instance{{Addr: backend}}}}}
	for _, r := range routes {
		c.Routes = append(c.Routes, spec.Route{Name: r, PathPrefix: "/" + r, Upstream: "b"})
	}
	return c
}

// stores runs fn against a File and a Consul store.
func stores(t *testing.T, fn func(t *testing.T, s admin.Store)) {
	t.Run("file", func(t *testing.T) { fn(t, admin.NewFile(filepath.Join(t.TempDir(), "state.json"))) })
	t.Run("consul", func(t *testing.T) {
		a := consultest.Start(t)
		fn(t, admin.NewConsul(a.Client, "gs/admin"))
	})
}

func TestStoreRoundTripAndAudit(t *testing.T) {
	stores(t, func(t *testing.T, s admin.Store) {
		ctx := context.Background()
		st, err := s.Load(ctx)
		if err != nil || st.Revision != 0 {
			t.Fatalf("empty store: %+v %v", st, err)
		}
		c := sample("127.0.0.1:1", "z", "a", "m") // order must survive
		c.Consumers = []consumer.Consumer{{ID: "bob"}, {ID: "alice"}}
		c.TrustedProxies = []string{"10.0.0.0/8"}
		rev, err := s.Save(ctx, 0, c, admin.Change{Actor: "alice", Message: "first"})
		if err != nil || rev != 1 {
			t.Fatalf("save: %d %v", rev, err)
		}
		st, err = s.Load(ctx)
		if err != nil || st.Revision != 1 {
			t.Fatalf("load: %+v %v", st, err)
		}
		if got := fmt.Sprint(st.Config.Routes[0].Name, st.Config.Routes[1].Name, st.Config.Routes[2].Name, st.Config.Consumers[0].ID, st.Config.TrustedProxies); got != "zambob[10.0.0.0/8]" {
			t.Fatalf("round trip: %s", got)
		}
		c.Routes = c.Routes[1:]
		c.Upstreams["c"] = spec.Upstream{Instances: []spec.Instance{{Addr: "127.0.0.1:2"}}}
		if _, err := s.Save(ctx, 1, c, admin.Change{Actor: "bob"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, 1, c, admin.Change{Actor: "eve"}); !errors.Is(err, admin.ErrConflict) {
			t.Fatalf("stale base: %v", err)
		}
		log, err := s.Audit(ctx)
		if err != nil || len(log) != 2 {
			t.Fatalf("audit: %+v %v", log, err)
		}
		if log[0].Revision != 2 || log[0].Actor != "bob" || strings.Join(log[0].Summary, " ") != "+upstream/c -route/z" {
			t.Fatalf("audit entry: %+v", log[0])
		}
		if log[1].Message != "first" || log[1].Time.IsZero() {
			t.Fatalf("audit entry: %+v", log[1])
		}
		// The state of each revision is kept, for rollback.
		at1, err := s.At(ctx, 1)
		if err != nil || len(at1.Routes) != 3 || at1.Routes[0].Name != "z" {
			t.Fatalf("state at 1: %+v %v", at1, err)
		}
		if _, err := s.At(ctx, 7); !errors.Is(err, admin.ErrNoHistory) {
			t.Fatalf("state at 7: %v", err)
		}
	})
}

// Two writers from the same base: exactly one wins, the other gets
// ErrConflict, and the winner's change is all there.
func TestStoreConcurrentWritersCAS(t *testing.T) {
	stores(t, func(t *testing.T, s admin.Store) {
		ctx := context.Background()
		if _, err := s.Save(ctx, 0, sample("127.0.0.1:1", "base"), admin.Change{Actor: "t"}); err != nil {
			t.Fatal(err)
		}
		for round := range 10 {
			base := uint64(round + 1)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for w := range 2 {
				wg.Go(func() {
					_, errs[w] = s.Save(ctx, base, sample("127.0.0.1:1", "base", fmt.Sprintf("w%d-%d", w, round)), admin.Change{Actor: fmt.Sprint("w", w)})
				})
			}
			wg.Wait()
			wins := 0
			winner := -1
			for w, err := range errs {
				switch {
				case err == nil:
					wins, winner = wins+1, w
				case !errors.Is(err, admin.ErrConflict):
					t.Fatalf("writer %d: %v", w, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d writers won: %v", round, wins, errs)
			}
			st, err := s.Load(ctx)
			if err != nil || st.Revision != base+1 || len(st.Config.Routes) != 2 || st.Config.Routes[1].Name != fmt.Sprintf("w%d-%d", winner, round) {
				t.Fatalf("round %d: %+v %v", round, st, err)
			}
		}
	})
}

// A crash mid-write leaves a temp file next to the state: the state is
// still the last complete one.
func TestFileSurvivesTornWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s := admin.NewFile(path)
	if _, err := s.Save(context.Background(), 0, sample("127.0.0.1:1", "a"), admin.Change{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".state.json.123"), []byte(`{"revision":2,"con`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(context.Background())
	if err != nil || st.Revision != 1 {
		t.Fatalf("%+v %v", st, err)
	}
}

func TestConsulLayoutOneKeyPerObject(t *testing.T) {
	a := consultest.Start(t)
	s := admin.NewConsul(a.Client, "gs/admin")
	ctx := context.Background()
	c := sample("127.0.0.1:1", "a", "b/c")
	if _, err := s.Save(ctx, 0, c, admin.Change{}); err != nil {
		t.Fatal(err)
	}
	keys, _, err := a.Client.KV().Keys("gs/admin/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "gs/admin/audit/00000000000000000001 gs/admin/history/00000000000000000001 gs/admin/state/manifest gs/admin/state/routes/a gs/admin/state/routes/b%2Fc gs/admin/state/settings gs/admin/state/upstreams/b"
	if got := strings.Join(keys, " "); got != want {
		t.Fatalf("keys:\n%s\nwant\n%s", got, want)
	}
	// A second write sends only what changed: the audit entry, one route
	// and the manifest (seen as their ModifyIndex moving).
	before, _, _ := a.Client.KV().Get("gs/admin/state/upstreams/b", nil)
	c.Routes[0].PathPrefix = "/x"
	if _, err := s.Save(ctx, 1, c, admin.Change{}); err != nil {
		t.Fatal(err)
	}
	after, _, _ := a.Client.KV().Get("gs/admin/state/upstreams/b", nil)
	if before.ModifyIndex != after.ModifyIndex {
		t.Fatal("an unchanged upstream was rewritten")
	}
}

// Watch delivers new revisions from blocking queries, reports errors while
// Consul is down, and catches up after it returns.
func TestConsulWatchSurvivesRestart(t *testing.T) {
	a := consultest.Start(t)
	s := admin.NewConsul(a.Client, "gs/admin")
	s.WaitTime = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan uint64, 100)
	errs := make(chan error, 100)
	go s.Watch(ctx, func(st admin.State, err error) {
		if err != nil {
			select {
			case errs <- err:
			default:
			}
			return
		}
		got <- st.Revision
	})
	wait := func(rev uint64) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case r := <-got:
				if r == rev {
					return
				}
			case <-deadline:
				t.Fatalf("revision %d not delivered", rev)
			}
		}
	}
	wait(0)
	if _, err := s.Save(ctx, 0, sample("127.0.0.1:1", "a"), admin.Change{}); err != nil {
		t.Fatal(err)
	}
	wait(1)
	a.Stop()
	select {
	case err := <-errs:
		if !errors.Is(err, admin.ErrUnavailable) {
			t.Fatalf("error while down: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no error while Consul is down")
	}
	if _, err := s.Save(ctx, 1, sample("127.0.0.1:1", "a", "b"), admin.Change{}); !errors.Is(err, admin.ErrUnavailable) {
		t.Fatalf("save while down: %v", err)
	}
	a.Restart()
	if _, err := s.Save(ctx, 1, sample("127.0.0.1:1", "a", "b"), admin.Change{}); err != nil {
		t.Fatal(err)
	}
	wait(2)
}

// A state larger than one transaction: new objects are staged (invisible
// until the manifest commits), the rest goes in the final transaction; a
// change rewriting too many existing objects at once is refused.
func TestConsulLargeState(t *testing.T) {
	a := consultest.Start(t)
	s := admin.NewConsul(a.Client, "gs/big")
	ctx := context.Background()
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("r%03d", 299-i))
	}
	c := sample("127.0.0.1:1", names...)
	if _, err := s.Save(ctx, 0, c, admin.Change{}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(ctx)
	if err != nil || len(st.Config.Routes) != 300 || st.Config.Routes[0].Name != "r299" || st.Config.Routes[299].Name != "r000" {
		t.Fatalf("%d routes, %v", len(st.Config.Routes), err)
	}
	// Keys staged without a manifest naming them are not part of the state.
	if _, err := a.Client.KV().Put(&api.KVPair{Key: "gs/big/state/routes/ghost", Value: []byte(`{"name":"ghost"}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Load(ctx); len(st.Config.Routes) != 300 {
		t.Fatal("an unnamed key became part of the state")
	}
	for i := range c.Routes {
		c.Routes[i].Timeout = spec.Duration(time.Second)
	}
	if _, err := s.Save(ctx, 1, c, admin.Change{}); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("rewriting 300 objects at once: %v", err)
	}
	if _, err := s.Save(ctx, 1, sample("127.0.0.1:1", "ghost"), admin.Change{}); err == nil {
		t.Fatal("deleting 300 objects at once accepted")
	}
	// A leftover key under a new object's name is replaced in the final
	// transaction.
	c = sample("127.0.0.1:1", append(names, "ghost")...)
	if _, err := s.Save(ctx, 1, c, admin.Change{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Load(ctx); len(st.Config.Routes) != 301 || st.Config.Routes[300].Upstream != "b" {
		t.Fatalf("ghost: %+v", st.Config.Routes[len(st.Config.Routes)-1])
	}
}

// Two File values on one path (two processes) still serialise their writes:
// the lock file makes the revision check and the rename one step.
func TestFileWritersShareLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ctx := context.Background()
	if _, err := admin.NewFile(path).Save(ctx, 0, sample("127.0.0.1:1", "a"), admin.Change{}); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w := range 2 {
			wg.Go(func() {
				_, errs[w] = admin.NewFile(path).Save(ctx, uint64(round+1), sample("127.0.0.1:1", "a", fmt.Sprint("w", w)), admin.Change{})
			})
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: %v", round, errs)
		}
	}
}

// An object over Consul's value limit (512 KiB by default) cannot be
// stored: the write says so and names the object, and is not reported as
// Consul being unreachable (which the API answers 503 "retry later").
func TestConsulObjectTooLarge(t *testing.T) {
	a := consultest.Start(t)
	s := admin.NewConsul(a.Client, "gs/admin")
	ctx := context.Background()
	var hosts []string
	for i := range 40000 { // about 800 KiB of JSON in one route
		hosts = append(hosts, fmt.Sprintf("h%06d.example.com", i))
	}
	c := sample("127.0.0.1:1", "small", "huge")
	c.Routes[1].Hosts = hosts
	_, err := s.Save(ctx, 0, c, admin.Change{})
	if err == nil || errors.Is(err, admin.ErrUnavailable) || !errors.Is(err, admin.ErrTooLarge) || !strings.Contains(err.Error(), "route/huge") {
		t.Fatalf("save of a route over the value limit: %v", err)
	}
	if st, err := s.Load(ctx); err != nil || st.Revision != 0 {
		t.Fatalf("after the refusal: %+v %v", st, err)
	}
	c.Routes = c.Routes[:1]
	if _, err := s.Save(ctx, 0, c, admin.Change{}); err != nil {
		t.Fatal(err)
	}

	// Through the API: 413 saying why, the revision unchanged.
	f := newAPI(t, admin.NewConsul(a.Client, "gs/api"), admin.Options{})
	huge, _ := json.Marshal(spec.Route{Name: "huge", PathPrefix: "/huge", Upstream: "b", Hosts: hosts})
	tag := f.etag()
	if r := f.do("operator", "PUT", "/admin/routes/huge", tag, string(huge)); r.code != 413 || !strings.Contains(r.raw, "route/huge") {
		t.Fatalf("PUT of a route over the value limit: %d %.300s", r.code, r.raw)
	}
	if f.etag() != tag {
		t.Fatal("the refused write made a revision")
	}
}

// A File whose state file is deleted, or replaced by an older copy, while
// the gateway runs or between runs never hands out a revision again: a
// client still holding an old revision in If-Match gets a conflict instead
// of overwriting a state it never saw (ABA).
func TestFileRevisionsNeverRepeat(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	save := func(s *admin.File, base uint64, route string) (uint64, error) {
		t.Helper()
		return s.Save(ctx, base, sample("127.0.0.1:1", route), admin.Change{})
	}
	s := admin.NewFile(path)
	for base := range uint64(2) {
		if _, err := save(s, base, "a"); err != nil {
			t.Fatal(err)
		}
	}
	// A client read revision 2; the file is deleted; a new process starts
	// over from the empty state and writes twice.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s = admin.NewFile(path)
	r1, err := save(s, 0, "b")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := save(s, r1, "c")
	if err != nil {
		t.Fatal(err)
	}
	if r1 <= 2 || r2 <= r1 {
		t.Errorf("revisions after the deletion: %d, %d; want above 2 and increasing", r1, r2)
	}
	if _, err := save(s, 2, "stale"); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("a write with the revision read before the deletion: %v, want ErrConflict", err)
	}
	// An older copy put back in place while this process runs.
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r3, err := save(s, r2, "d")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	r4, err := save(s, r2, "e")
	if err != nil {
		t.Fatal(err)
	}
	if r4 <= r3 {
		t.Errorf("revision after the older copy came back: %d, want above %d", r4, r3)
	}
	if _, err := save(s, r3, "stale"); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("a write with a revision read before the older copy came back: %v, want ErrConflict", err)
	}
	if st, err := s.Load(ctx); err != nil || st.Revision != r4 || st.Config.Routes[0].Name != "e" {
		t.Errorf("state: %+v %v, want revision %d with route e", st, err, r4)
	}
}

// Consul's transaction limit (txn_max_req_len, 512 KiB by default) counts
// the request as sent, values base64-encoded: a third larger than their
// raw size. A state whose objects fit, each well under the value limit,
// is stored even when its history copy does not fit in the same
// transaction: the copy is left out (At says ErrNoHistory), the write is
// not refused.
func TestConsulHistoryDoesNotRefuseWrite(t *testing.T) {
	a := consultest.Start(t)
	s := admin.NewConsul(a.Client, "gs/budget")
	ctx := context.Background()
	// About 300 KiB of JSON that compresses badly: in one route, under the
	// value limit raw (300 KiB) and encoded (400 KiB); its gzipped history
	// copy (about 230 KiB) is under HistoryMax, but both together, encoded,
	// are over the transaction limit.
	rnd := rand.New(rand.NewChaCha8([32]byte{1}))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	var hosts []string
	for range 8500 {
		b := make([]byte, 32)
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		hosts = append(hosts, string(b))
	}
	c := sample("127.0.0.1:1", "small", "large")
	c.Routes[1].Hosts = hosts
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	raw, _ := json.Marshal(c)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	route, _ := json.Marshal(c.Routes[1])
	if gz.Len() > admin.HistoryMax || base64.StdEncoding.EncodedLen(len(route)) > 500<<10 ||
		base64.StdEncoding.EncodedLen(len(route))+base64.StdEncoding.EncodedLen(gz.Len()) <= 512<<10 {
		t.Fatalf("the test state misses its sizes: route %d B, history %d B", len(route), gz.Len())
	}
	rev, err := s.Save(ctx, 0, c, admin.Change{})
	if err != nil {
		t.Fatalf("save of a state whose objects fit: %v", err)
	}
	st, err := s.Load(ctx)
	if err != nil || st.Revision != rev || len(st.Config.Routes) != 2 || len(st.Config.Routes[1].Hosts) != len(hosts) {
		t.Fatalf("after the save: revision %d, %v", st.Revision, err)
	}
	if _, err := s.At(ctx, rev); err != nil && !errors.Is(err, admin.ErrNoHistory) {
		t.Fatalf("history of revision %d: %v", rev, err)
	}
	// A small change keeps its history as before.
	c.Routes[0].PathPrefix = "/small2"
	rev, err = s.Save(ctx, rev, c, admin.Change{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.At(ctx, rev); err != nil {
		t.Fatalf("history of the small change: %v", err)
	}
}

// A File's Watch does not hand the gateway an older state when the file is
// deleted or an older copy is put back while it runs: that would drop
// every route written since (a deleted file reads as the empty state). It
// reports an error, so the reload loop keeps what is in force, and the
// next write, whose revision is above every earlier one, is delivered.
func TestFileWatchKeepsStateWhenFileGoesBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "state.json")
	s := admin.NewFile(path)
	s.Every = 10 * time.Millisecond
	type event struct {
		st  admin.State
		err error
	}
	events := make(chan event, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, func(st admin.State, err error) {
			select {
			case events <- event{st, err}:
			default: // the test reads what it waits for; a full channel only drops repeats
			}
		})
	}()
	defer func() { cancel(); <-done }()
	// next returns the next event that is not the state at skip.
	next := func(skip uint64) event {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case e := <-events:
				if e.err == nil && e.st.Revision == skip {
					continue
				}
				return e
			case <-deadline:
				t.Fatal("no event from Watch in 30s")
			}
		}
	}
	if e := next(^uint64(0)); e.err != nil || e.st.Revision != 0 {
		t.Fatalf("first event: %+v", e)
	}
	rev, err := s.Save(ctx, 0, sample("127.0.0.1:1", "a"), admin.Change{})
	if err != nil {
		t.Fatal(err)
	}
	if e := next(0); e.err != nil || e.st.Revision != rev {
		t.Fatalf("after the write: %+v", e)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if e := next(rev); e.err == nil {
		t.Fatalf("after the file was deleted: state %+v delivered, want an error", e.st)
	}
	rev2, err := s.Save(ctx, 0, sample("127.0.0.1:1", "b"), admin.Change{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		e := next(rev)
		if e.err != nil {
			continue // the deletion, reported until the write lands
		}
		if e.st.Revision != rev2 || e.st.Config.Routes[0].Name != "b" {
			t.Fatalf("after the new write: %+v, want revision %d", e.st, rev2)
		}
		break
	}
}

// A Consul store whose state keys are deleted (consul kv delete -recurse
// PREFIX/state/) while the gateway runs: Watch does not hand the replicas
// the empty state (which would drop every route), and the next write takes
// a revision above every earlier one, so an If-Match from before gets a
// conflict instead of overwriting a state it never saw.
func TestConsulStateDeleted(t *testing.T) {
	a := consultest.Start(t)
	s := admin.NewConsul(a.Client, "gs/admin")
	s.WaitTime = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type event struct {
		rev uint64
		err error
	}
	events := make(chan event, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, func(st admin.State, err error) { events <- event{st.Revision, err} })
	}()
	defer func() { cancel(); <-done }()
	next := func() event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(30 * time.Second):
			t.Fatal("no event from Watch in 30s")
		}
		return event{}
	}
	if e := next(); e.err != nil || e.rev != 0 {
		t.Fatalf("first event: %+v", e)
	}
	for base := range uint64(2) {
		if _, err := s.Save(ctx, base, sample("127.0.0.1:1", "a", fmt.Sprint("r", base)), admin.Change{}); err != nil {
			t.Fatal(err)
		}
		if e := next(); e.err != nil || e.rev != base+1 {
			t.Fatalf("after write %d: %+v", base+1, e)
		}
	}
	if _, err := a.Client.KV().DeleteTree("gs/admin/state/", nil); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.err == nil {
		t.Fatalf("after the state keys were deleted: revision %d delivered, want an error", e.rev)
	}
	// Another process (a fresh Store) writes after the deletion.
	rev, err := admin.NewConsul(a.Client, "gs/admin").Save(ctx, 0, sample("127.0.0.1:1", "b"), admin.Change{})
	if err != nil {
		t.Fatal(err)
	}
	if rev <= 2 {
		t.Errorf("revision after the deletion: %d, want above 2", rev)
	}
	if e := next(); e.err != nil || e.rev != rev {
		t.Fatalf("after the new write: %+v, want revision %d", e, rev)
	}
	if _, err := s.Save(ctx, 2, sample("127.0.0.1:1", "stale"), admin.Change{}); !errors.Is(err, admin.ErrConflict) {
		t.Errorf("a write with the revision read before the deletion: %v, want ErrConflict", err)
	}
}

// TestFileMissingAfterWritesRefusesToLoad: a state file deleted between
// runs, while PATH.lock records that revisions were written, read as the
// empty state, so the restarted gateway came up with no routes and said
// nothing. Load (the start-up read) must refuse with an error naming the
// file; deleting the lock file too is how an operator starts empty.
func TestFileMissingAfterWritesRefusesToLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	rev, err := admin.NewFile(path).Save(ctx, 0, sample("127.0.0.1:1", "a"), admin.Change{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	st, err := admin.NewFile(path).Load(ctx)
	if err == nil {
		t.Fatalf("Load after the state file was deleted: revision %d, %d routes, no error; want an error", st.Revision, len(st.Config.Routes))
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), path+".lock") || !strings.Contains(err.Error(), strconv.FormatUint(rev, 10)) {
		t.Errorf("error %q does not name the file, its lock file and the revision written", err)
	}
	// Watch, started fresh as after such a restart, does not deliver the
	// empty state either.
	wctx, cancel := context.WithCancel(ctx)
	got := make(chan error, 1)
	s := admin.NewFile(path)
	go s.Watch(wctx, func(_ admin.State, err error) {
		select {
		case got <- err:
		default:
		}
		cancel()
	})
	if err := <-got; err == nil {
		t.Error("Watch delivered the empty state for a deleted file whose lock records writes")
	}
	// The operator's way to start empty: remove the lock file as well.
	if err := os.Remove(path + ".lock"); err != nil {
		t.Fatal(err)
	}
	if st, err := admin.NewFile(path).Load(ctx); err != nil || st.Revision != 0 {
		t.Errorf("Load with neither file: %+v, %v; want the empty state", st, err)
	}
}
