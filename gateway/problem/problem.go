package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentType is the media type of a problem body.
const ContentType = "application/problem+json"

// Details is an RFC 9457 problem body with the gateway's extension members.
type Details struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Route is the name of the route that produced the error, if any.
	Route string `json:"route,omitempty"`
	// Upstream is the upstream service involved, if any.
	Upstream string `json:"upstream,omitempty"`
	// Call is the composite route's call that failed, if any.
	Call string `json:"call,omitempty"`
	// RequestID lets a client quote the failing request to an operator.
	RequestID string `json:"request_id,omitempty"`
}

// Write sends d with status d.Status. Title defaults to the status text.
func Write(w http.ResponseWriter, d Details) {
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	body, err := json.Marshal(d)
	if err != nil { // cannot happen for this struct; keep the client informed anyway
		body = []byte(`{"title":"internal error","status":500}`)
		d.Status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Encoding")
	w.WriteHeader(d.Status)
	_, _ = w.Write(body)
}
