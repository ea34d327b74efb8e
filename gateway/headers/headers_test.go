package headers_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatescale/gatescale/gateway/headers"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		rules headers.Rules
		field string
		msg   string
	}{
		{headers.Rules{Request: &headers.Actions{Set: map[string]string{"Host": "x"}}}, "request.set.Host", "preserve_host"},
		{headers.Rules{Request: &headers.Actions{Add: map[string]string{"x-forwarded-proto": "https"}}}, "request.add.x-forwarded-proto", "X-Forwarded-*"},
		{headers.Rules{Request: &headers.Actions{Remove: []string{"Forwarded"}}}, "request.remove[0]", "gateway's"},
		{headers.Rules{Request: &headers.Actions{Set: map[string]string{"X-Request-ID": "1"}}}, "request.set.X-Request-ID", "request id"},
		{headers.Rules{Response: &headers.Actions{Remove: []string{"content-length"}}}, "response.remove[0]", "frames the body"},
		{headers.Rules{Response: &headers.Actions{Set: map[string]string{"Transfer-Encoding": "chunked"}}}, "response.set.Transfer-Encoding", "frames the body"},
		{headers.Rules{Response: &headers.Actions{Set: map[string]string{"Connection": "close"}}}, "response.set.Connection", "hop-by-hop"},
		{headers.Rules{Request: &headers.Actions{Remove: []string{"TE"}}}, "request.remove[0]", "hop-by-hop"},
		{headers.Rules{Response: &headers.Actions{Set: map[string]string{"Access-Control-Allow-Origin": "*"}}}, "response.set.Access-Control-Allow-Origin", "cors"},
		{headers.Rules{Request: &headers.Actions{Set: map[string]string{"X A": "1"}}}, `request.set["X A"]`, "not a header name"},
		{headers.Rules{Request: &headers.Actions{Set: map[string]string{"X-A": "1\r\nX-B: 2"}}}, "request.set.X-A", "not a header value"},
		{headers.Rules{Request: &headers.Actions{Set: map[string]string{"X-A": "1"}, Add: map[string]string{"x-a": "2"}}}, "request.add.x-a", "already named at request.set"},
		{headers.Rules{Response: &headers.Actions{Remove: []string{"Server", "server"}}}, "response.remove[1]", "already listed"},
	} {
		err := tc.rules.Validate()
		var fe *headers.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
			t.Errorf("%+v: got %v, want %s: ...%s...", tc.rules, err, tc.field, tc.msg)
		}
		if _, err := headers.New(tc.rules); err == nil {
			t.Errorf("New accepted %+v", tc.rules)
		}
	}
	ok := headers.Rules{
		Request:  &headers.Actions{Set: map[string]string{"X-Env": "prod"}, Remove: []string{"Authorization", "Cookie"}},
		Response: &headers.Actions{Add: map[string]string{"Vary": "X-Env"}, Remove: []string{"Server", "Access-Control-Allow-Origin"}},
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid rules refused: %v", err)
	}
}

// TestRulesOverHTTP: request rules reach a real upstream server, response
// rules the client, in order remove, set, add; the caller's request
// headers are left as they were.
func TestRulesOverHTTP(t *testing.T) {
	h, err := headers.New(headers.Rules{
		Request: &headers.Actions{Remove: []string{"X-Drop", "X-Set"}, Set: map[string]string{"x-set": "gw"}, Add: map[string]string{"X-Add": "gw"}},
		Response: &headers.Actions{Remove: []string{"Server", "X-Internal"}, Set: map[string]string{"X-Frame-Options": "DENY"},
			Add: map[string]string{"X-Multi": "gw"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen http.Header
	var callerHeader http.Header
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("X-Multi", "up")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "done")
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		callerHeader = r.Header
		h.Middleware(inner).ServeHTTP(w, r)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("X-Drop", "1")
	req.Header.Set("X-Set", "client")
	req.Header.Add("X-Add", "client")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if seen.Get("X-Drop") != "" || strings.Join(seen.Values("X-Set"), ",") != "gw" || strings.Join(seen.Values("X-Add"), ",") != "client,gw" {
		t.Errorf("upstream saw %v", seen)
	}
	if callerHeader.Get("X-Drop") != "1" || callerHeader.Get("X-Set") != "client" {
		t.Errorf("the caller's request was changed: %v", callerHeader)
	}
	if resp.StatusCode != http.StatusCreated || string(body) != "done" || resp.Header.Get("X-Internal") != "" || resp.Header.Get("Server") != "" ||
		resp.Header.Get("X-Frame-Options") != "DENY" || strings.Join(resp.Header.Values("X-Multi"), ",") != "up,gw" {
		t.Errorf("client got %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// unwrapOnly is a caller's response writer wrapper that reaches the
// writer underneath only through Unwrap (no Flush method of its own).
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestFlushThroughUnwrap: a streaming handler's flush reaches the client
// through the response rules when the writer they were given flushes only
// via Unwrap: the first chunk, with the rules' headers, arrives while the
// handler still waits.
func TestFlushThroughUnwrap(t *testing.T) {
	h, err := headers.New(headers.Rules{Response: &headers.Actions{Set: map[string]string{"X-Frame-Options": "DENY"}}})
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	mw := h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		select { // the client has the first chunk, or gave up
		case <-read:
		case <-r.Context().Done():
		}
		io.WriteString(w, "second\n")
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mw.ServeHTTP(unwrapOnly{w}, r) }))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a bound on a hang, not a timing assertion
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no answer head: %v (the flush did not reach the client)", err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	close(read)
	if err != nil || line != "first\n" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("first chunk %q, %v; X-Frame-Options %q", line, err, resp.Header.Get("X-Frame-Options"))
	}
}
