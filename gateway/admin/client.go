package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatescale/gatescale/gateway/spec"
)

// Client calls the admin API of a gateway: `gatescale admin`, scripts and
// tests use it rather than hand-made requests. Its writes send If-Match with
// the revision they read, so a concurrent change is reported (a *Problem
// with Status 412), never overwritten.
type Client struct {
	// URL is the admin listener's base URL, e.g. http://127.0.0.1:9901.
	URL string
	// Token is the admin token (Authorization: Bearer).
	Token string
	// HTTP is the client used (default http.DefaultClient).
	HTTP *http.Client
}

// Problem is an error answer of the API: its status, detail and, for a
// refused change, the problems with the JSON pointer of each field.
type Problem struct {
	Status int            `json:"status"`
	Detail string         `json:"detail"`
	Errors []FieldProblem `json:"errors,omitempty"`
	// Revision is the revision the state is at, in a 412.
	Revision uint64 `json:"revision,omitempty"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %s", p.Status, http.StatusText(p.Status), p.Detail)
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", e.Pointer, e.Detail)
	}
	return b.String()
}

// Do sends one request to path (below the base URL, e.g.
// "/admin/routes/x"). body, if not nil, is sent as JSON; ifMatch, if not 0,
// as If-Match. The answer's JSON is decoded into out (if not nil); rev is
// its ETag revision (0 when it has none). An error answer is a *Problem.
func (c *Client) Do(ctx context.Context, method, path string, ifMatch uint64, body, out any) (rev uint64, err error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != 0 {
		req.Header.Set("If-Match", etag(ifMatch))
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode >= 300 {
		p := &Problem{Status: resp.StatusCode}
		if json.Unmarshal(raw, p) != nil || p.Detail == "" {
			p.Detail = strings.TrimSpace(string(raw))
		}
		p.Status = resp.StatusCode
		return 0, p
	}
	if t, err := strconv.Unquote(resp.Header.Get("ETag")); err == nil {
		rev, _ = strconv.ParseUint(t, 10, 64)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return rev, fmt.Errorf("admin: %s %s: decoding the answer: %w", method, path, err)
		}
	}
	return rev, nil
}

// Config returns the whole state and its revision.
func (c *Client) Config(ctx context.Context) (spec.Config, uint64, error) {
	var cfg spec.Config
	rev, err := c.Do(ctx, http.MethodGet, "/admin/config", 0, nil, &cfg)
	return cfg, rev, err
}

// Update reads the route name, lets edit change it, and writes it back
// based on the revision it read. A 412 (someone else wrote in between) is
// retried from a fresh read, up to three times; edit must therefore be
// repeatable.
func (c *Client) Update(ctx context.Context, route string, edit func(*spec.Route) error) (uint64, error) {
	for attempt := 0; ; attempt++ {
		var r spec.Route
		rev, err := c.Do(ctx, http.MethodGet, "/admin/routes/"+route, 0, nil, &r)
		if err != nil {
			return 0, err
		}
		if err := edit(&r); err != nil {
			return 0, err
		}
		rev, err = c.Do(ctx, http.MethodPut, "/admin/routes/"+route, rev, r, nil)
		if p, ok := err.(*Problem); ok && p.Status == http.StatusPreconditionFailed && attempt < 3 {
			continue
		}
		return rev, err
	}
}

// PurgeCache removes the stored answers under prefix (a path prefix, or a
// host and path prefix; "/" is everything) from the response cache of the
// replica at c.URL, and returns how many keys it removed. Other replicas
// keep theirs: call each replica's admin listener to purge them all.
func (c *Client) PurgeCache(ctx context.Context, prefix string) (int, error) {
	var out CachePurged
	_, err := c.Do(ctx, http.MethodPost, "/admin/cache/purge", 0, CachePurge{Prefix: prefix}, &out)
	return out.Removed, err
}
