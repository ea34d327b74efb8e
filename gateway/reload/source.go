package reload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gatescale/gatescale/internal/fileerr"
)

// Source is where a configuration comes from.
type Source interface {
	// Read returns the content as it is now: the start-up load.
	Read(ctx context.Context) ([]byte, error)
	// Watch calls update, one call at a time, whenever the content may
	// have changed, until ctx ends. It may deliver unchanged content (the
	// Loop skips it) but should not deliver content it could only read in
	// part.
	Watch(ctx context.Context, update func(Update))
	// String names the source in logs and the status: a file path, a
	// Consul key.
	String() string
}

// Update is one delivery of a Source's Watch.
type Update struct {
	// Data is the content.
	Data []byte
	// Err, if set, says why the content could not be read; Data is then
	// ignored and the configuration in force stays.
	Err error
	// Forced marks a reload someone asked for (SIGHUP): the content is
	// applied even if it did not change, so that the files it names
	// (keys, consumers) are read again.
	Forced bool
}

// Revision names content in logs, metrics and the status: the first 12
// hex digits of its SHA-256.
func Revision(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:6])
}

func hash(data []byte) [32]byte { return sha256.Sum256(data) }

// File is a configuration file, reloaded on SIGHUP (or Signals, or a
// receive on Trigger) and, every Every, when its content changed.
type File struct {
	// Path is the file.
	Path string
	// Every is how often the content is compared with what is in force;
	// 0 checks only when triggered.
	Every time.Duration
	// Signals force a reload; nil means SIGHUP.
	Signals []os.Signal
	// Trigger, if set, forces a reload on each receive, as a signal does.
	Trigger <-chan struct{}

	once, closed sync.Once
	watching     chan struct{}
}

// NewFile returns a File for path, polled every every.
func NewFile(path string, every time.Duration) *File {
	return &File{Path: path, Every: every}
}

func (f *File) String() string { return f.Path }

// Read reads the file; a failure reads "path: reason".
func (f *File) Read(context.Context) ([]byte, error) { return fileerr.Read(f.Path) }

// Watching returns a channel closed once Watch listens for the signals:
// a signal sent before then would have its default effect.
func (f *File) Watching() <-chan struct{} {
	f.once.Do(func() { f.watching = make(chan struct{}) })
	return f.watching
}

// Watch delivers the file's content on each signal or trigger and on each
// tick of Every. A file that cannot be read on a tick is skipped silently
// (it is being replaced; the next tick sees it); on a signal the failure is
// delivered, so that it is reported.
func (f *File) Watch(ctx context.Context, update func(Update)) {
	signals := f.Signals
	if signals == nil {
		signals = []os.Signal{syscall.SIGHUP}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, signals...)
	defer signal.Stop(sig)
	f.Watching()
	f.closed.Do(func() { close(f.watching) })
	var tick <-chan time.Time
	if f.Every > 0 {
		t := time.NewTicker(f.Every)
		defer t.Stop()
		tick = t.C
	}
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-sig:
			forced = true
		case <-f.Trigger:
			forced = true
		case <-tick:
		}
		data, err := fileerr.Read(f.Path)
		switch {
		case err == nil:
			update(Update{Data: data, Forced: forced})
		case forced:
			update(Update{Err: err, Forced: true})
		}
	}
}
