package compose

import (
	"net/http"
	"strings"
	"testing"
)

// A backend's own "_partial" member is not merged at the top level: a
// complete answer would otherwise tell the client that parts are missing
// (or, with a string, hide which ones).
func TestBackendPartialMemberNotMerged(t *testing.T) {
	b := newBackends(t, map[string]http.HandlerFunc{
		"orders": jsonHandler(0, `{"id":1,"_partial":["customer"]}`),
	})
	p := mustPlan(t, b, "/o", Composite{Calls: []Call{{Name: "order", Upstream: "orders", Path: "/o"}}})
	code, hdr, doc := serve(t, p, "/o", "/o")
	if code != 200 {
		t.Fatalf("%d %v", code, doc)
	}
	if v, ok := doc["_partial"]; ok || hdr.Get(PartialHeader) != "" {
		t.Errorf("complete answer says _partial=%v, %s=%q", v, PartialHeader, hdr.Get(PartialHeader))
	}
	if doc["id"] == nil {
		t.Errorf("id missing: %v", doc)
	}
}

// Two calls placing their answers under one group key would leave only the
// later one: a configuration error, not a silent overwrite.
func TestDuplicateGroupRefused(t *testing.T) {
	c := Composite{Calls: []Call{
		{Name: "a", Upstream: "x", Path: "/a", Group: "data"},
		{Name: "b", Upstream: "x", Path: "/b", Group: "data"},
	}}
	wantGroupError(t, c.Validate("/o", nil))
}

// A group named like another call that has none: that call's answer, when
// it is not an object, goes under its name, and one of the two answers
// would replace the other.
func TestGroupNamedLikeAnotherCallRefused(t *testing.T) {
	c := Composite{Calls: []Call{
		{Name: "recs", Upstream: "x", Path: "/recs"},
		{Name: "more", Upstream: "x", Path: "/more", Group: "recs"},
	}}
	wantGroupError(t, c.Validate("/o", nil))
	// A call may use its own name as its group, and a hidden call's name
	// is never a key.
	ok := Composite{Calls: []Call{
		{Name: "recs", Upstream: "x", Path: "/recs", Group: "recs"},
		{Name: "feed", Upstream: "x", Path: "/feed", Hidden: true},
		{Name: "more", Upstream: "x", Path: "/more", Group: "feed"},
	}}
	if errs := ok.Validate("/o", nil); len(errs) > 0 {
		t.Errorf("valid composite refused: %v", errs)
	}
}

// wantGroupError fails t unless errs has one at calls[1].group naming
// calls[0], the call whose answer would be replaced.
func wantGroupError(t *testing.T, errs []*FieldError) {
	t.Helper()
	for _, e := range errs {
		if e.Field == "calls[1].group" && strings.Contains(e.Message, "calls[0]") {
			return
		}
	}
	t.Errorf("errors %v, want calls[1].group naming calls[0]", errs)
}
