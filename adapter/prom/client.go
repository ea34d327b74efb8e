package prom

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Config says how to reach Prometheus.
type Config struct {
	// URL is Prometheus's base URL, e.g. http://prometheus.monitoring:9090
	// (a path prefix is kept: http://thanos/prometheus).
	URL string
	// BearerToken, or BearerTokenFile (re-read every minute, so a rotated
	// token is picked up; if a re-read fails, the last token is kept),
	// authenticate every request.
	BearerToken     string
	BearerTokenFile string
	// CAFile verifies an HTTPS Prometheus; InsecureSkipVerify does not.
	CAFile             string
	InsecureSkipVerify bool
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
	// Logger receives warnings: a BearerTokenFile that could not be
	// re-read, its last token being used meanwhile (default slog.Default()).
	Logger *slog.Logger
}

// Client queries Prometheus. Query uses client_golang's v1 API; Series
// streams /api/v1/series so that discovery never holds a large answer in
// memory. Errors are *Error, which say whether Prometheus was unreachable
// or refused the query.
type Client struct {
	base    *url.URL
	api     promv1.API
	http    *http.Client
	timeout time.Duration
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q: want e.g. http://prometheus:9090", cfg.URL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" || cfg.InsecureSkipVerify {
		tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // the user asked for it
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("prometheus CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("prometheus CA %s: no PEM certificates", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	var rt http.RoundTripper = tr
	if cfg.BearerToken != "" || cfg.BearerTokenFile != "" {
		logger := cfg.Logger
		if logger == nil {
			logger = slog.Default()
		}
		rt = &bearer{next: tr, token: cfg.BearerToken, file: cfg.BearerTokenFile, every: time.Minute, logger: logger}
	}
	hc := &http.Client{Transport: rt}
	ac, err := api.NewClient(api.Config{Address: strings.TrimRight(u.String(), "/"), Client: hc})
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Client{base: u, api: promv1.NewAPI(ac), http: hc, timeout: cfg.Timeout}, nil
}

// URL returns Prometheus's base URL.
func (c *Client) URL() string { return c.base.String() }

// Query runs an instant query at ts.
func (c *Client) Query(ctx context.Context, q string, ts time.Time) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, _, err := c.api.Query(ctx, q, ts)
	if err != nil {
		return nil, c.classify(err, q)
	}
	return v, nil
}

// QueryRange runs a range query from start to end at step resolution
// (what `gatescale plan -prometheus` replays). It returns a matrix.
func (c *Client) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, _, err := c.api.QueryRange(ctx, q, promv1.Range{Start: start, End: end, Step: step})
	if err != nil {
		return nil, c.classify(err, q)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, &Error{Kind: BadQuery, URL: c.base.Redacted(), Query: q, Err: fmt.Errorf("a range query returned a %s, not a matrix", v.Type())}
	}
	return m, nil
}

// Series streams the series matching selector seen between start and end
// to fn, as a name and the sorted names of its other labels; label values
// are dropped as soon as they are read, because discovery does not need
// them and they are most of the answer's size. It returns how many series
// Prometheus sent.
func (c *Client) Series(ctx context.Context, selector string, start, end time.Time, fn func(name string, labels []string)) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	form := url.Values{"match[]": {selector}, "start": {formatTime(start)}, "end": {formatTime(end)}}
	u := c.base.JoinPath("api/v1/series")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, c.classify(err, selector)
	}
	if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented {
		// A proxy that allows only GET: ask again with GET, as
		// client_golang's queries do.
		resp.Body.Close()
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += form.Encode()
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil); err != nil {
			return 0, err
		}
		if resp, err = c.http.Do(req); err != nil {
			return 0, c.classify(err, selector)
		}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, c.statusError(resp.StatusCode, body, selector)
	}
	n, err := decodeSeries(resp.Body, fn)
	if err != nil {
		return n, c.classify(err, selector)
	}
	return n, nil
}

// decodeSeries reads {"status":..,"data":[{labels},...]} one series at a
// time.
func decodeSeries(r io.Reader, fn func(name string, labels []string)) (int, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return 0, err
	}
	n := 0
	var status, errType, errMsg string
	lbls := map[string]string{}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n, err
		}
		switch tok {
		case "status":
			err = dec.Decode(&status)
		case "errorType":
			err = dec.Decode(&errType)
		case "error":
			err = dec.Decode(&errMsg)
		case "data":
			if err = expectDelim(dec, '['); err != nil {
				return n, err
			}
			for dec.More() {
				clear(lbls)
				if err := dec.Decode(&lbls); err != nil {
					return n, err
				}
				n++
				names = names[:0]
				for k := range lbls {
					if k != model.MetricNameLabel {
						names = append(names, k)
					}
				}
				sort.Strings(names)
				fn(lbls[model.MetricNameLabel], names)
			}
			err = expectDelim(dec, ']')
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return n, err
		}
	}
	if status != "success" {
		return n, &promv1.Error{Type: promv1.ErrorType(errType), Msg: errMsg}
	}
	return n, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("unexpected JSON %v, want %v", tok, d)
	}
	return nil
}

func formatTime(t time.Time) string {
	return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000)
}

// ErrorKind says what went wrong talking to Prometheus.
type ErrorKind int

const (
	// Unavailable: Prometheus could not be reached or did not answer in
	// time, or answered 5xx. Retrying later may work; the HPA sees 503.
	Unavailable ErrorKind = iota + 1
	// BadQuery: Prometheus refused or could not execute the query (a rule
	// writes bad PromQL, or a join matches many-to-many).
	BadQuery
	// Canceled: the caller went away.
	Canceled
)

// Error is an error from Prometheus.
type Error struct {
	Kind ErrorKind
	// URL is Prometheus's address and Query the PromQL or selector sent.
	URL, Query string
	Err        error
}

func (e *Error) Error() string {
	switch e.Kind {
	case Unavailable:
		return fmt.Sprintf("prometheus at %s is unavailable: %v", e.URL, e.Err)
	case BadQuery:
		return fmt.Sprintf("prometheus at %s refused the query %s: %v", e.URL, e.Query, e.Err)
	default:
		return fmt.Sprintf("prometheus at %s: %v", e.URL, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// IsUnavailable reports whether err means Prometheus could not be reached.
func IsUnavailable(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Kind == Unavailable
}

// IsBadQuery reports whether err means Prometheus refused a query.
func IsBadQuery(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Kind == BadQuery
}

func (c *Client) classify(err error, q string) error {
	e := &Error{Kind: Unavailable, URL: c.base.Redacted(), Query: q, Err: err}
	var ae *promv1.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Kind = Canceled
	case errors.As(err, &ae):
		switch ae.Type {
		case promv1.ErrBadData, promv1.ErrExec:
			e.Kind = BadQuery
			e.Err = errors.New(ae.Msg)
		case promv1.ErrCanceled:
			e.Kind = Canceled
		}
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
	}
	return e
}

func (c *Client) statusError(code int, body []byte, q string) error {
	var r struct {
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}
	if json.Unmarshal(body, &r) == nil && r.Error != "" {
		return c.classify(&promv1.Error{Type: promv1.ErrorType(r.ErrorType), Msg: r.Error}, q)
	}
	// Without an API error body (a proxy's 502, a 401 from an auth proxy)
	// the query is not at fault: Prometheus is not usable as configured.
	return &Error{Kind: Unavailable, URL: c.base.Redacted(), Query: q, Err: fmt.Errorf("HTTP %d: %.200s", code, strings.TrimSpace(string(body)))}
}

// bearer adds an Authorization header, re-reading a token file at most once
// a minute.
type bearer struct {
	next   http.RoundTripper
	token  string
	file   string
	every  time.Duration // how often the file is re-read
	logger *slog.Logger

	mu     sync.Mutex
	read   time.Time // of the last good read; zero before the first
	cached string
	warned bool // a failed re-read was logged since the last good read
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	tok := b.token
	if b.file != "" {
		var err error
		if tok, err = b.fileToken(); err != nil {
			return nil, err
		}
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(r)
}

// fileToken returns the file's token, read again once it is older than
// every. A file that cannot be read after a good read leaves the last
// token in use — a rotation may replace the file non-atomically, and that
// token is likely still valid, where no token is surely refused — with
// one warning until a read succeeds again; the file is tried again on
// each request. Before any good read, the error is the request's.
func (b *bearer) fileToken() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.read.IsZero() && time.Since(b.read) < b.every {
		return b.cached, nil
	}
	data, err := os.ReadFile(b.file)
	if err != nil {
		if b.read.IsZero() {
			return "", fmt.Errorf("bearer token file: %w", err)
		}
		if !b.warned {
			b.warned = true
			b.logger.Warn("bearer token file cannot be read; sending the token read before", "file", b.file,
				"read", b.read.Format(time.RFC3339), "err", err)
		}
		return b.cached, nil
	}
	b.cached, b.read, b.warned = strings.TrimSpace(string(data)), time.Now(), false
	return b.cached, nil
}
