package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatescale/gatescale/gateway/spec"
)

// File is a Store in one JSON file, for a single node. A write goes to a
// temporary file in the same directory, is fsynced, then renamed over the
// file (and the directory fsynced): a crash leaves the old or the new
// state, never a torn one. Writers are serialised by a mutex and, across
// processes, an flock on PATH.lock; the revision is checked under both.
// Revisions never repeat, even when the file is deleted or an older copy
// is put back: a write takes the next revision after the highest one this
// File wrote or PATH.lock records, so an If-Match from before cannot
// match a different state.
type File struct {
	path string
	// Every is how often Watch reads the file (default 1s).
	Every time.Duration
	mu    sync.Mutex
	high  uint64 // the highest revision written, under mu
}

type fileDoc struct {
	State
	Audit []Entry `json:"audit"`
	// History holds the compressed state of the last AuditSize revisions.
	History map[uint64][]byte `json:"history,omitempty"`
	// Tokens are the admin tokens kept with the state (TokenKeeper).
	Tokens []Token `json:"tokens,omitempty"`
}

// NewFile returns a Store kept in path; a missing file is the empty state,
// unless PATH.lock records that revisions were written (then Load refuses).
func NewFile(path string) *File { return &File{path: path} }

func (f *File) String() string { return "file:" + f.path }

func (f *File) read() (fileDoc, error) {
	var d fileDoc
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", f.path, err)
	}
	return d, nil
}

// Load implements Store. A missing file is the empty state only when
// PATH.lock records no write either (see readStart).
func (f *File) Load(context.Context) (State, error) {
	d, err := f.readStart()
	return d.State, err
}

// readStart is read for a process that has seen no state yet. A missing
// file whose lock records written revisions was deleted (or the path is
// wrong): reading it as the empty state would start the gateway with no
// routes, silently. Writes still start over from it (Save), keeping
// revisions above the recorded one.
func (f *File) readStart() (fileDoc, error) {
	d, err := f.read()
	if err != nil || d.Revision != 0 {
		return d, err
	}
	high := readHighWater(f.path)
	if high == 0 {
		return d, nil
	}
	if _, serr := os.Stat(f.path); !errors.Is(serr, fs.ErrNotExist) {
		return d, nil
	}
	return d, fmt.Errorf("%w: state file %s is missing, but %s.lock records that revision %d was written: it was deleted or moved; restore it, or delete %s.lock too to start with the empty state",
		ErrUnavailable, f.path, f.path, high, f.path)
}

// Save implements Store.
func (f *File) Save(_ context.Context, base uint64, c *spec.Config, ch Change) (uint64, error) {
	if err := checkNames(c); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	unlock, err := lockFile(f.path)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer unlock()
	d, err := f.read()
	if err != nil {
		return 0, err
	}
	if d.Revision != base {
		return 0, ErrConflict
	}
	cfg, err := clone(c)
	if err != nil {
		return 0, err
	}
	rev := max(base, f.high, readHighWater(f.path)) + 1
	e := Entry{Revision: rev, Actor: ch.Actor, Time: time.Now().UTC(), Message: ch.Message, Summary: Summary(&d.Config, &cfg)}
	d.Audit = append([]Entry{e}, d.Audit...)
	if len(d.Audit) > AuditSize {
		d.Audit = d.Audit[:AuditSize]
	}
	d.Revision, d.Config = rev, cfg
	if d.History == nil {
		d.History = map[uint64][]byte{}
	}
	if snap := snapshot(&cfg); snap != nil {
		d.History[d.Revision] = snap
	}
	for rev := range d.History {
		if rev+AuditSize <= d.Revision {
			delete(d.History, rev)
		}
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := writeAtomic(f.path, b); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	f.high = rev
	// After the state: a crash in between leaves the revision in the file,
	// which is higher than the mark.
	_ = os.WriteFile(f.path+".lock", []byte(strconv.FormatUint(rev, 10)), 0o600)
	return d.Revision, nil
}

// readHighWater returns the highest revision written to path, as recorded
// in path's lock file (0 when none is: a lock file from before, or none).
func readHighWater(path string) uint64 {
	b, err := os.ReadFile(path + ".lock")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// writeAtomic replaces path with data: temp file, fsync, rename, fsync of
// the directory (so the rename itself survives a crash).
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Watch implements Store by reading the file every Every. A state older
// than the one it last delivered (the file deleted, or an older copy put
// back) is reported as an error, not delivered.
func (f *File) Watch(ctx context.Context, fn func(State, error)) {
	every := f.Every
	if every <= 0 {
		every = time.Second
	}
	var last []byte
	var high uint64 // the revision last delivered
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var d fileDoc
		var err error
		if high == 0 {
			d, err = f.readStart()
		} else { // a deletion from here on is the going back below
			d, err = f.read()
		}
		switch {
		case err != nil:
			fn(State{}, err)
			last = nil
		case d.Revision < high:
			// Deleted, or an older copy put back: delivering it would drop
			// what was written since. The next write takes a revision
			// above high (Save), so it is delivered. Reported once per
			// state seen, not at every read.
			if b := mustJSON(d.State); !bytes.Equal(b, last) {
				last = b
				fn(State{}, fmt.Errorf("%w: %s went back from revision %d to %d (deleted or replaced by an older copy); revision %d stays in force until the next write",
					ErrUnavailable, f.path, high, d.Revision, high))
			}
		default:
			if b := mustJSON(d.State); !bytes.Equal(b, last) {
				last, high = b, d.Revision
				fn(d.State, nil)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Audit implements Store.
func (f *File) Audit(context.Context) ([]Entry, error) {
	d, err := f.read()
	return d.Audit, err
}

// At implements Store.
func (f *File) At(_ context.Context, rev uint64) (spec.Config, error) {
	d, err := f.read()
	if err != nil {
		return spec.Config{}, err
	}
	snap, ok := d.History[rev]
	if !ok {
		return spec.Config{}, ErrNoHistory
	}
	return unsnapshot(snap)
}

// update applies fn to the document under the locks and writes it.
func (f *File) update(fn func(d *fileDoc) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	unlock, err := lockFile(f.path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer unlock()
	d, err := f.read()
	if err != nil {
		return err
	}
	if err := fn(&d); err != nil {
		return err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(f.path, b); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Tokens implements TokenKeeper.
func (f *File) Tokens(context.Context) ([]Token, error) {
	d, err := f.read()
	return d.Tokens, err
}

// PutToken implements TokenKeeper.
func (f *File) PutToken(_ context.Context, t Token) error {
	return f.update(func(d *fileDoc) error {
		d.Tokens = append(slices.DeleteFunc(d.Tokens, func(x Token) bool { return x.Name == t.Name }), t)
		return nil
	})
}

// DeleteToken implements TokenKeeper.
func (f *File) DeleteToken(_ context.Context, name string) (bool, error) {
	found := false
	err := f.update(func(d *fileDoc) error {
		n := len(d.Tokens)
		d.Tokens = slices.DeleteFunc(d.Tokens, func(x Token) bool { return x.Name == name })
		found = len(d.Tokens) != n
		return nil
	})
	return found, err
}
