package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/gatescale/gatescale/gateway/spec"
)

// Difference is one changed field between two states, as a JSON Patch
// (RFC 6902) operation would name it: Op is add, remove or replace, Path a
// JSON pointer into the state as GET /admin/config shows it.
type Difference struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	Old  any    `json:"old,omitempty"`
	New  any    `json:"new,omitempty"`
}

// Diff lists what differs from old to cur, field by field. Routes and
// consumers are matched by name and id, not by position, so inserting a
// route reads as one added route rather than every later route replaced;
// their pointers use cur's positions (old's for removed ones).
func Diff(old, cur *spec.Config) ([]Difference, error) {
	a, err := generic(old)
	if err != nil {
		return nil, err
	}
	b, err := generic(cur)
	if err != nil {
		return nil, err
	}
	var out []Difference
	diffValue("", a, b, &out)
	return out, nil
}

func generic(c *spec.Config) (any, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var v any
	return v, json.Unmarshal(raw, &v)
}

func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func diffValue(path string, a, b any, out *[]Difference) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(av)+len(bv))
		for k := range av {
			keys = append(keys, k)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "/" + pointerToken(k)
			x, inA := av[k]
			y, inB := bv[k]
			switch {
			case !inA:
				*out = append(*out, Difference{Op: "add", Path: p, New: y})
			case !inB:
				*out = append(*out, Difference{Op: "remove", Path: p, Old: x})
			default:
				diffValue(p, x, y, out)
			}
		}
		return
	case []any:
		bv, ok := b.([]any)
		if !ok {
			break
		}
		if key := identity(av, bv); key != "" {
			diffKeyed(path, key, av, bv, out)
			return
		}
		n := max(len(av), len(bv))
		for i := 0; i < n; i++ {
			p := path + "/" + strconv.Itoa(i)
			switch {
			case i >= len(av):
				*out = append(*out, Difference{Op: "add", Path: p, New: bv[i]})
			case i >= len(bv):
				*out = append(*out, Difference{Op: "remove", Path: p, Old: av[i]})
			default:
				diffValue(p, av[i], bv[i], out)
			}
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, Difference{Op: "replace", Path: path, Old: a, New: b})
	}
}

// identity returns the member ("name" or "id") that identifies every
// element of both lists, or "".
func identity(lists ...[]any) string {
	for _, key := range []string{"name", "id"} {
		ok := true
		for _, l := range lists {
			for _, e := range l {
				m, isObj := e.(map[string]any)
				if !isObj {
					return ""
				}
				if _, has := m[key].(string); !has {
					ok = false
				}
			}
		}
		if ok {
			return key
		}
	}
	return ""
}

func diffKeyed(path, key string, a, b []any, out *[]Difference) {
	at := map[string]int{}
	for i, e := range a {
		at[e.(map[string]any)[key].(string)] = i
	}
	seen := map[string]bool{}
	for j, e := range b {
		id := e.(map[string]any)[key].(string)
		seen[id] = true
		p := path + "/" + strconv.Itoa(j)
		if i, ok := at[id]; ok {
			diffValue(p, a[i], e, out)
		} else {
			*out = append(*out, Difference{Op: "add", Path: p, New: e})
		}
	}
	for i, e := range a {
		if id := e.(map[string]any)[key].(string); !seen[id] {
			*out = append(*out, Difference{Op: "remove", Path: path + "/" + strconv.Itoa(i), Old: e})
		}
	}
}

// DiffView is GET /admin/revisions/{n}/diff.
type DiffView struct {
	From    uint64       `json:"from"`
	To      uint64       `json:"to"`
	Changes []Difference `json:"changes"`
}

func (a *API) diff(w http.ResponseWriter, r *http.Request) {
	to, err := strconv.ParseUint(r.PathValue("n"), 10, 64)
	if err != nil || to == 0 {
		writeProblem(w, http.StatusBadRequest, "revision must be a positive number", nil)
		return
	}
	from := to - 1
	if f := r.URL.Query().Get("from"); f != "" {
		if from, err = strconv.ParseUint(f, 10, 64); err != nil {
			writeProblem(w, http.StatusBadRequest, "from must be a revision number", []FieldProblem{{Pointer: "", Detail: fmt.Sprintf("from=%q", f)}})
			return
		}
	}
	states := [2]spec.Config{}
	for i, n := range []uint64{from, to} {
		if n == 0 {
			continue // revision 0 is the empty state
		}
		c, err := a.store.At(r.Context(), n)
		if err != nil {
			if errors.Is(err, ErrNoHistory) {
				writeProblem(w, http.StatusNotFound, fmt.Sprintf("the state of revision %d is not kept (the last %d are)", n, AuditSize), nil)
				return
			}
			storeError(w, err)
			return
		}
		states[i] = c
	}
	changes, err := Diff(&states[0], &states[1])
	if err != nil {
		storeError(w, err)
		return
	}
	if changes == nil {
		changes = []Difference{}
	}
	writeBody(w, http.StatusOK, DiffView{From: from, To: to, Changes: changes})
}
