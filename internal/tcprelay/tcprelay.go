package tcprelay

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Relay forwards each connection made to Addr to the server's address.
type Relay struct {
	// Addr is the host:port clients dial instead of the server's.
	Addr string

	to      string
	ln      net.Listener
	refused chan struct{}

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// Start listens on a free loopback port and forwards to to until the test
// ends.
func Start(t testing.TB, to string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Addr: ln.Addr().String(), to: to, ln: ln, refused: make(chan struct{}, 1), conns: map[net.Conn]bool{}}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(r.close)
	return r
}

func (r *Relay) serve() {
	defer r.wg.Done()
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.cut {
			r.mu.Unlock()
			in.Close()
			select {
			case r.refused <- struct{}{}:
			default:
			}
			continue
		}
		r.mu.Unlock()
		out, err := net.Dial("tcp", r.to)
		if err != nil {
			in.Close()
			continue
		}
		r.mu.Lock()
		r.conns[in], r.conns[out] = true, true
		r.mu.Unlock()
		r.wg.Add(2)
		go func() { defer r.wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
		go func() { defer r.wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
	}
}

// Cut drops every relayed connection and closes each new one at once,
// until Restore.
func (r *Relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = true
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}

// Restore forwards new connections again.
func (r *Relay) Restore() {
	r.mu.Lock()
	r.cut = false
	r.mu.Unlock()
}

// Refused is sent to (without blocking: one pending signal at most) each
// time a connection is closed because the relay is cut, so a test can wait
// until a client has tried.
func (r *Relay) Refused() <-chan struct{} { return r.refused }

func (r *Relay) close() {
	r.ln.Close()
	r.Cut()
	r.wg.Wait()
}
