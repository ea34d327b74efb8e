package live

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/shadow"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Validate is the one validation of a gateway's declared state, for the
// file and the admin API alike: spec.Validate, then the route table's own
// check of the routes that passed it (patterns, rewrite templates,
// conflicts), then, with route_shadowing: refuse, the route shadowing
// check (package shadow) of a valid route table. Every problem is a
// *spec.FieldError; nothing is started. With route_shadowing: warn (the
// default) the findings are not errors: Warnings returns them.
func Validate(c *spec.Config, opts ...spec.Option) error {
	err := spec.Validate(c, opts...)
	fields, _ := spec.FieldErrors(err)
	bad := map[int]bool{}
	for _, fe := range fields {
		if i, ok := routeIndex(fe.Path); ok {
			bad[i] = true
		}
	}
	var good []spec.Route
	var index []int // good[k] is c.Routes[index[k]]
	for i, r := range c.Routes {
		if !bad[i] && r.Name != "" {
			good, index = append(good, r), append(index, i)
		}
	}
	if len(good) == 0 {
		return err
	}
	terr := route.Check(good)
	tfields, other := spec.FieldErrors(terr)
	errs := []error{err}
	for _, fe := range tfields {
		if k, ok := routeIndex(fe.Path); ok {
			rest := fe.Path[len(spec.Index("routes", k)):]
			fe = &spec.FieldError{Path: spec.Index("routes", index[k]) + rest, AtKey: fe.AtKey, Message: fe.Message}
		}
		errs = append(errs, fe)
	}
	if terr == nil && c.RouteShadowing == spec.ShadowingRefuse {
		for _, fe := range shadowing(c, good, index) {
			errs = append(errs, fe)
		}
	}
	return errors.Join(append(errs, other...)...)
}

// Warnings returns what a valid c is warned about, as *spec.FieldError:
// the route shadowing findings (package shadow) when c.RouteShadowing is
// warn or unset, each at the less-protected route's path or path_prefix.
// Load, reload and `gatescale validate` report them; they refuse nothing.
func Warnings(c *spec.Config) []*spec.FieldError {
	switch c.RouteShadowing {
	case "", spec.ShadowingWarn:
	default:
		return nil
	}
	index := make([]int, len(c.Routes))
	for i := range index {
		index[i] = i
	}
	return shadowing(c, c.Routes, index)
}

// shadowing runs the route shadowing check on routes (routes[k] is
// c.Routes[index[k]], a set route.Check accepted) and places each finding
// at the less-protected route.
func shadowing(c *spec.Config, routes []spec.Route, index []int) []*spec.FieldError {
	found, err := shadow.Find(routes, shadow.WithUpstreams(c.Upstreams))
	if err != nil {
		return nil // route.Check's problems, reported by Validate
	}
	out := make([]*spec.FieldError, len(found))
	for k, f := range found {
		field := "path_prefix"
		if routes[f.Via].Path != "" {
			field = "path"
		}
		out[k] = &spec.FieldError{Path: spec.Join(spec.Index("routes", index[f.Via]), field), Message: f.Message()}
	}
	return out
}

// routeIndex returns i of a path under routes[i].
func routeIndex(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "routes[")
	if !ok {
		return 0, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, false
	}
	i, err := strconv.Atoi(rest[:end])
	return i, err == nil
}
