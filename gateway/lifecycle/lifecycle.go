package lifecycle

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatescale/gatescale/gateway/problem"
	"github.com/gatescale/gatescale/gateway/spec"
)

// PreviewHeader, with any non-empty value, lets a request reach a draft
// route.
const PreviewHeader = "X-Gatescale-Preview"

// State returns l's state; no lifecycle is published.
func State(l *spec.Lifecycle) string {
	if l == nil || l.State == "" {
		return spec.LifecyclePublished
	}
	return l.State
}

var rank = map[string]int{spec.LifecycleDraft: 0, spec.LifecyclePublished: 1, spec.LifecycleDeprecated: 2, spec.LifecycleRetired: 3}

// Transition reports a state change that makes no sense: back to draft
// once published, or out of retired. Un-deprecating (deprecated →
// published) is allowed; skipping forward is too.
func Transition(from, to string) error {
	switch {
	case from == to:
		return nil
	case from == spec.LifecycleRetired:
		return fmt.Errorf("a retired route stays retired (asked: %s); publish a new route instead", to)
	case to == spec.LifecycleDraft:
		return fmt.Errorf("a %s route cannot go back to draft", from)
	case rank[to] < rank[from] && !(from == spec.LifecycleDeprecated && to == spec.LifecyclePublished):
		return fmt.Errorf("%s → %s is not a lifecycle transition", from, to)
	}
	return nil
}

// retiredBody is the 410 problem body.
type retiredBody struct {
	problem.Details
	Successor string `json:"successor,omitempty"`
}

// Middleware serves l around a route's handler; l is valid (spec
// validation). A deprecated l without Since is sent as deprecated since
// Middleware was called: RFC 9745 defines only a date, and the old
// draft's "true" is dropped by clients that parse it.
func Middleware(l spec.Lifecycle) func(http.Handler) http.Handler {
	var sunset string
	since := time.Now()
	if t, err := time.Parse(time.RFC3339, l.Since); err == nil {
		since = t
	}
	deprecation := "@" + strconv.FormatInt(since.Unix(), 10)
	if t, err := time.Parse(time.RFC3339, l.Sunset); err == nil {
		sunset = t.UTC().Format(http.TimeFormat)
	}
	link := ""
	if l.Successor != "" {
		link = "<" + l.Successor + `>; rel="successor-version"`
	}
	return func(next http.Handler) http.Handler {
		switch State(&l) {
		case spec.LifecycleDraft:
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get(PreviewHeader) == "" {
					// The route table's own 404, so the draft does not show.
					problem.Write(w, problem.Details{Status: http.StatusNotFound, Detail: "no route matches " + r.Method + " " + r.URL.Path})
					return
				}
				next.ServeHTTP(w, r)
			})
		case spec.LifecycleDeprecated:
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				h.Set("Deprecation", deprecation)
				if sunset != "" {
					h.Set("Sunset", sunset)
				}
				if link != "" {
					h.Add("Link", link)
				}
				next.ServeHTTP(w, r)
			})
		case spec.LifecycleRetired:
			detail := "this API is retired"
			if l.Successor != "" {
				detail += "; use " + l.Successor
			}
			body, _ := json.Marshal(retiredBody{Details: problem.Details{Title: "Gone", Status: http.StatusGone, Detail: detail}, Successor: l.Successor})
			body = append(body, '\n')
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				if link != "" {
					h.Add("Link", link)
				}
				h.Set("Content-Type", problem.ContentType)
				h.Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusGone)
				_, _ = w.Write(body)
			})
		}
		return next
	}
}
