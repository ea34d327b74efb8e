package interimtest

import (
	"context"
	"net/http/httptrace"
	"net/textproto"
	"sync"
)

// Answer is one interim answer: its status code and header.
type Answer struct {
	Code   int
	Header textproto.MIMEHeader
}

// Recorder collects the interim answers of the requests made with its
// Context. It is safe for concurrent use: http.Transport reports them on
// its own goroutine.
type Recorder struct {
	mu      sync.Mutex
	answers []Answer
}

// Context returns ctx with an httptrace.ClientTrace that records every
// interim answer into r.
func (r *Recorder) Context(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.answers = append(r.answers, Answer{Code: code, Header: h})
		return nil
	}})
}

// Answers returns the interim answers recorded so far, oldest first.
func (r *Recorder) Answers() []Answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Answer(nil), r.answers...)
}

// Codes returns the status codes of Answers.
func (r *Recorder) Codes() []int {
	var codes []int
	for _, a := range r.Answers() {
		codes = append(codes, a.Code)
	}
	return codes
}
