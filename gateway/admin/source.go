package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/gatescale/gatescale/gateway"
	"github.com/gatescale/gatescale/gateway/live"
	"github.com/gatescale/gatescale/gateway/reload"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Source is a reload.Source over a Store: each replica's reload.Loop
// applies the store's state (with Apply) as it applies a file, so a
// refused state (hand-edited KV) is logged and counted by the Loop, and
// the replica keeps its last good state; while the store is unreachable
// the Loop keeps what is in force and catches up when it returns.
type Source struct {
	Store Store
}

// NewSource returns a Source over st.
func NewSource(st Store) *Source { return &Source{Store: st} }

func (s *Source) String() string {
	if n, ok := s.Store.(fmt.Stringer); ok {
		return n.String()
	}
	return "admin store"
}

// Encode is the content a Source delivers for a state: its JSON.
func Encode(st State) []byte { return mustJSON(st) }

// Read implements reload.Source.
func (s *Source) Read(ctx context.Context) ([]byte, error) {
	st, err := s.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	return Encode(st), nil
}

// Watch implements reload.Source with the store's Watch.
func (s *Source) Watch(ctx context.Context, update func(reload.Update)) {
	s.Store.Watch(ctx, func(st State, err error) {
		if err != nil {
			update(reload.Update{Err: err})
			return
		}
		update(reload.Update{Data: Encode(st)})
	})
}

// Decode parses what Encode produced, refusing unknown fields.
func Decode(data []byte) (State, error) {
	var st State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return State{}, fmt.Errorf("admin state: %w", err)
	}
	return st, nil
}

// Apply returns the reload.ApplyFunc of a replica: decode, live.Validate
// (the file's validation), build with rt, gw.Apply, then Commit (or
// Discard on refusal). opts are passed to live.Validate. A build that
// fails is reload.Retryable: valid state fails to build only for want of
// something outside it on this replica (a key file, an environment
// variable), which may come without a new write.
func Apply(gw *gateway.Gateway, rt *live.Runtime, opts ...spec.Option) reload.ApplyFunc {
	return func(ctx context.Context, data []byte) (reload.Result, error) {
		st, err := Decode(data)
		if err != nil {
			return reload.Result{}, err
		}
		if err := live.Validate(&st.Config, opts...); err != nil {
			return reload.Result{}, err
		}
		built, err := rt.Build(&st.Config)
		if err != nil {
			return reload.Result{}, reload.Retryable(err)
		}
		if err := gw.Apply(ctx, built.Gateway); err != nil {
			built.Discard()
			return reload.Result{}, err
		}
		built.Commit()
		return reload.Result{Attrs: []slog.Attr{
			slog.Uint64("admin_revision", st.Revision),
			slog.Int("routes", len(st.Config.Routes)), slog.Int("upstreams", len(st.Config.Upstreams)),
		}}, nil
	}
}
