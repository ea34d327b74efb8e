package admin

import (
	"errors"
	"io"
	"net/http"
	"strings"
)

// CachePurge is the body of POST /admin/cache/purge.
type CachePurge struct {
	// Prefix is a path prefix ("/users/", on every host) or a host and
	// path prefix ("api.example.com/users/"), as cache.Store.PurgePrefix
	// takes it; "/" purges everything.
	Prefix string `json:"prefix"`
}

// CachePurged is the answer to POST /admin/cache/purge.
type CachePurged struct {
	Prefix string `json:"prefix"`
	// Removed is how many keys (each with its variants) the replica that
	// served the request removed.
	Removed int `json:"removed"`
}

// Validate reports what is wrong with p, with the pointer of the member.
func (p CachePurge) Validate() []FieldProblem {
	bad := func(detail string) []FieldProblem { return []FieldProblem{{Pointer: "/prefix", Detail: detail}} }
	switch {
	case p.Prefix == "":
		return bad(`required: a path prefix ("/users/") or a host and path prefix ("api.example.com/users/"); "/" purges everything`)
	case strings.Contains(p.Prefix, "://"):
		return bad("a host and path prefix, without a scheme (api.example.com/users/)")
	case strings.ContainsAny(p.Prefix, "?#"):
		return bad("the query and fragment are not part of the stored answers' host and path: purge by path (every query goes)")
	case strings.IndexFunc(p.Prefix, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return bad("spaces and control characters do not occur in stored paths: percent-encode them (%20), as the request path is")
	}
	return nil
}

func (a *API) purgeCache(w http.ResponseWriter, r *http.Request) {
	if a.opts.PurgeCache == nil {
		writeProblem(w, http.StatusNotImplemented, "this gateway's admin API has no response cache to purge (Options.PurgeCache)", nil)
		return
	}
	var req CachePurge
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err := DecodeStrict(body, &req); err != nil {
		var de *DecodeError
		errors.As(err, &de)
		writeProblem(w, de.status(), "the body is not a cache purge", []FieldProblem{{Pointer: de.Pointer, Detail: de.Message}})
		return
	}
	if errs := req.Validate(); errs != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "the purge is not valid; nothing was removed", errs)
		return
	}
	n := a.opts.PurgeCache(req.Prefix)
	actor := ""
	if p, ok := PrincipalOf(r.Context()); ok {
		actor = p.Name
	}
	a.logger.Info("admin cache purge", "actor", actor, "prefix", req.Prefix, "removed", n)
	writeBody(w, http.StatusOK, CachePurged{Prefix: req.Prefix, Removed: n})
}
