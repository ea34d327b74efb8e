package live

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gatescale/gatescale/gateway/route"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Validate is the one validation of a gateway's declared state, for the
// file and the admin API alike: spec.Validate, then the route table's own
// check of the routes that passed it (patterns, rewrite templates,
// conflicts). Every problem is a *spec.FieldError; nothing is started.
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
	return errors.Join(append(errs, other...)...)
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
