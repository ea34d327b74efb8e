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
	refused chan struct{}

	mu     sync.Mutex
	ln     net.Listener // nil while cut
	refuse bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// Start listens on a free loopback port and forwards to to until the test
// ends.
func Start(t testing.TB, to string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Addr: ln.Addr().String(), to: to, refused: make(chan struct{}, 1), conns: map[net.Conn]bool{}}
	r.listen(ln)
	t.Cleanup(r.close)
	return r
}

func (r *Relay) listen(ln net.Listener) {
	r.ln = ln
	r.wg.Add(1)
	go r.serve(ln)
}

func (r *Relay) serve(ln net.Listener) {
	defer r.wg.Done()
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.ln != ln {
			// Cut since it was accepted: it goes as the others went.
			r.mu.Unlock()
			in.Close()
			continue
		}
		if r.refuse {
			r.mu.Unlock()
			in.Close()
			select {
			case r.refused <- struct{}{}:
			default:
			}
			continue
		}
		// Listed while connecting to the server, so that a Cut or Refuse
		// meanwhile closes it with the others.
		r.conns[in] = true
		r.mu.Unlock()
		out, err := net.Dial("tcp", r.to)
		r.mu.Lock()
		dropped := !r.conns[in]
		if err != nil || dropped {
			delete(r.conns, in)
			r.mu.Unlock()
			in.Close()
			if err == nil {
				out.Close()
			}
			continue
		}
		r.conns[out] = true
		r.mu.Unlock()
		r.wg.Add(2)
		go func() { defer r.wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
		go func() { defer r.wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
	}
}

// Cut drops every relayed connection and stops listening, as a server
// that went down: a client's connections are refused until Restore.
func (r *Relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	r.dropLocked()
}

// Refuse drops every relayed connection and closes each new one as soon
// as it is accepted, as a load balancer with no server behind it, until
// Restore. Each is told on Refused.
func (r *Relay) Refuse() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse = true
	r.dropLocked()
}

func (r *Relay) dropLocked() {
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}

// Restore forwards new connections again, on the same address.
func (r *Relay) Restore(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse = false
	if r.ln == nil {
		ln, err := net.Listen("tcp", r.Addr)
		if err != nil {
			t.Fatalf("listening on %s again: %v", r.Addr, err)
		}
		r.listen(ln)
	}
}

// Refused is sent to (without blocking: one pending signal at most) each
// time a connection is closed because of Refuse, so a test can wait until
// a client has tried.
func (r *Relay) Refused() <-chan struct{} { return r.refused }

func (r *Relay) close() {
	r.Cut()
	r.wg.Wait()
}
