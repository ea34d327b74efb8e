package admin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Principal is the caller of an admin request: its token's name (the
// actor of the audit log) and role.
type Principal struct {
	Name string `json:"name"`
	Role Role   `json:"-"`
}

type principalKey struct{}

// PrincipalOf returns the caller Guard authenticated for this request.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Guard serves h to callers holding at least role need, authenticated
// exactly as the API's own requests: the same tokens (file and store), the
// same throttling of failed attempts per client IP, 401/403/429 problem
// bodies, refusal log lines and metrics. It lets read-only pages next to
// the API (the console's statistics) share its authentication rather than
// grow a second one. h finds the caller with PrincipalOf.
func (a *API) Guard(need Role, h http.Handler) http.Handler {
	return a.guard(func(*http.Request) Role { return need }, h)
}

// guard is Guard with the role a request needs decided per request (the
// API's own: by endpoint).
func (a *API) guard(needs func(*http.Request) Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		defer func() { a.requests.WithLabelValues(strconv.Itoa(rec.code)).Inc() }()
		w = rec
		ip := clientIP(r)
		if until, ok := a.isBlocked(ip); ok {
			a.refuse(r, ip, "", "throttled")
			w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(until).Seconds())+1))
			writeProblem(w, http.StatusTooManyRequests, "too many failed authentications from this address", nil)
			return
		}
		secret, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		name, role, ok := a.lookup(r.Context(), strings.TrimSpace(secret))
		if !ok {
			reason := "invalid"
			if !hasBearer {
				reason = "missing"
			}
			a.refuse(r, ip, "", reason)
			a.failed(ip)
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatescale-admin"`)
			writeProblem(w, http.StatusUnauthorized, "an admin token is required (Authorization: Bearer TOKEN)", nil)
			return
		}
		if need := needs(r); role < need {
			a.refuse(r, ip, name, "forbidden")
			writeProblem(w, http.StatusForbidden, fmt.Sprintf("role %s may not do this; it needs %s", role, need), nil)
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, Principal{Name: name, Role: role})
		h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, actorKey{}, name)))
	})
}
