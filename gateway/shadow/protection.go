package shadow

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatescale/gatescale/gateway/ipaccess"
	"github.com/gatescale/gatescale/gateway/spec"
)

// Protection is a set of the dimensions along which one route protects a
// request more than another. A route is less protected than another, for
// a method, when it lacks any of them; the dimensions are listed in their
// order of severity.
type Protection uint8

const (
	// Authentication: the other route requires credentials, and this one
	// does not, or accepts kinds (auth methods, JWT issuers) it refuses.
	Authentication Protection = 1 << iota
	// Authorization: the other route's authorize rules for the method
	// refuse callers this one admits (scopes, roles, groups, consumers,
	// deny list, a method its rules do not list).
	Authorization
	// Addresses: the other route's ip_access refuses client addresses this
	// one admits.
	Addresses
	// Lifecycle: the other route is draft (served only with the preview
	// header) or retired, and this one is not in the same state.
	Lifecycle
	// Limits: the other route has a rate limit or concurrency limit this
	// one has no equal or stricter counterpart of.
	Limits
)

var protectionNames = []string{"authentication", "authorization", "client addresses", "lifecycle", "rate/concurrency limits"}

// String lists the dimensions, most severe first.
func (p Protection) String() string {
	var parts []string
	for i, name := range protectionNames {
		if p&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, ", ")
}

// Lacks returns the dimensions in which via protects a request with method
// less than exposed does: empty when via is at least as protected. Flow
// limits shared by name count as equal.
func Lacks(via, exposed *spec.Route, method string) Protection {
	var p Protection
	if !authnCovers(via, exposed) {
		p |= Authentication
	}
	if !authzCovers(via, exposed, method) {
		p |= Authorization
	}
	if !addressesCover(via, exposed) {
		p |= Addresses
	}
	if s := lifecycleState(exposed); (s == spec.LifecycleDraft || s == spec.LifecycleRetired) && lifecycleState(via) != s {
		p |= Lifecycle
	}
	if !limitsCover(via, exposed) {
		p |= Limits
	}
	return p
}

func requiresAuthn(r *spec.Route) bool { return r.Auth != nil && !r.Auth.Anonymous }

// authnCovers: via requires credentials whenever exposed does, and accepts
// no kind of credential exposed refuses.
func authnCovers(via, exp *spec.Route) bool {
	if !requiresAuthn(exp) {
		return true
	}
	if !requiresAuthn(via) {
		return false
	}
	for _, m := range via.Auth.Methods {
		if !slices.Contains(exp.Auth.Methods, m) {
			return false
		}
	}
	if slices.Contains(via.Auth.Methods, "jwt") && len(exp.Auth.Issuers) > 0 {
		if len(via.Auth.Issuers) == 0 {
			return false
		}
		for _, is := range via.Auth.Issuers {
			if !slices.Contains(exp.Auth.Issuers, is) {
				return false
			}
		}
	}
	return true
}

// authzRules returns the rules that must all hold for method on r, the
// deny list, and whether the method is refused outright. A route without
// authorize admits any caller its auth admits: the zero rule, or an
// anonymous one without required authentication.
func authzRules(r *spec.Route, method string) (rules []spec.AuthzRule, deny []string, refused bool) {
	if r.Authorize == nil {
		return []spec.AuthzRule{{Anonymous: !requiresAuthn(r)}}, nil, false
	}
	a := r.Authorize
	rules = []spec.AuthzRule{a.Rule()}
	if len(a.Methods) > 0 {
		var mr spec.AuthzRule
		found := false
		for k, v := range a.Methods {
			if strings.EqualFold(k, method) {
				mr, found = v, true
			}
		}
		if !found {
			mr, found = a.Methods["*"]
		}
		if !found {
			return nil, a.Deny, true
		}
		rules = append(rules, mr)
	}
	return rules, a.Deny, false
}

// authzCovers: every caller via admits for method, exposed admits too.
func authzCovers(via, exp *spec.Route, method string) bool {
	if exp.Authorize == nil {
		return true // what its auth requires is Authentication's to compare
	}
	eRules, eDeny, eRefused := authzRules(exp, method)
	vRules, vDeny, vRefused := authzRules(via, method)
	if vRefused {
		return true
	}
	if eRefused {
		return false
	}
	for _, d := range eDeny {
		if !slices.Contains(vDeny, d) {
			return false
		}
	}
	for _, er := range eRules {
		if er.Anonymous {
			continue
		}
		if !slices.ContainsFunc(vRules, func(vr spec.AuthzRule) bool { return implies(vr, er) }) {
			return false
		}
	}
	return true
}

// implies reports whether every caller rule v admits is admitted by e:
// scopes are all required, roles, groups and consumers are alternatives.
func implies(v, e spec.AuthzRule) bool {
	if e.Anonymous {
		return true
	}
	if v.Anonymous {
		return false
	}
	for _, s := range e.Scopes {
		if !slices.Contains(v.Scopes, s) {
			return false
		}
	}
	anyOf := func(vl, el []string) bool {
		if len(el) == 0 {
			return true
		}
		if len(vl) == 0 {
			return false
		}
		for _, x := range vl {
			if !slices.Contains(el, x) {
				return false
			}
		}
		return true
	}
	return anyOf(v.Roles, e.Roles) && anyOf(v.Groups, e.Groups) && anyOf(v.Consumers, e.Consumers)
}

// addressRule returns r's ip_access as a rule; an entry validation would
// refuse leaves the rule admitting everyone, which is never taken to
// cover anything.
func addressRule(r *spec.Route) ipaccess.Rule {
	if r.IPAccess == nil {
		return ipaccess.Rule{}
	}
	rule, err := ipaccess.ParseRule(*r.IPAccess)
	if err != nil {
		return ipaccess.Rule{}
	}
	return rule
}

// within reports whether prefix p lies inside q.
func within(p, q netip.Prefix) bool { return q.Bits() <= p.Bits() && q.Contains(p.Addr()) }

// addressesCover: every client address via admits, exposed admits too.
// Soundly, not completely: a range covered only by the union of several
// of via's prefixes is reported (a finding to review, never a miss).
func addressesCover(via, exp *spec.Route) bool {
	e := addressRule(exp)
	if len(e.Allow) == 0 && len(e.Deny) == 0 {
		return true
	}
	v := addressRule(via)
	if len(e.Allow) > 0 {
		if len(v.Allow) == 0 {
			return false
		}
		for _, va := range v.Allow {
			inside := slices.ContainsFunc(e.Allow, func(ea netip.Prefix) bool { return within(va, ea) })
			denied := slices.ContainsFunc(v.Deny, func(vd netip.Prefix) bool { return within(va, vd) })
			if !inside && !denied {
				return false
			}
		}
	}
	for _, ed := range e.Deny {
		if slices.ContainsFunc(v.Deny, func(vd netip.Prefix) bool { return within(ed, vd) }) {
			continue // via refuses it too
		}
		if len(v.Allow) > 0 && !slices.ContainsFunc(v.Allow, func(va netip.Prefix) bool { return va.Overlaps(ed) }) {
			continue // via admits nothing of it
		}
		return false
	}
	return true
}

func lifecycleState(r *spec.Route) string {
	if r.Lifecycle == nil || r.Lifecycle.State == "" {
		return spec.LifecyclePublished
	}
	return r.Lifecycle.State
}

// limitsCover: each limit of exposed has in via one of the same name
// (shared buckets) or one with the same key that is at least as strict.
func limitsCover(via, exp *spec.Route) bool {
	vPlans := via.LimitPlans()
	for _, e := range exp.LimitPlans() {
		if !slices.ContainsFunc(vPlans, func(v spec.LimitPlan) bool { return stricter(v, e) }) {
			return false
		}
	}
	if ec := exp.Concurrency; ec != nil {
		vc := via.Concurrency
		if vc == nil || vc.ConcurrencyKey() != ec.ConcurrencyKey() || vc.Max > ec.Max {
			return false
		}
	}
	return true
}

func stricter(v, e spec.LimitPlan) bool {
	if v.Name == e.Name {
		return true
	}
	if v.Key != e.Key {
		return false
	}
	// v.Rate/v.Per <= e.Rate/e.Per, compared without division.
	if int64(v.Rate)*int64(e.Per/time.Millisecond) > int64(e.Rate)*int64(v.Per/time.Millisecond) {
		return false
	}
	return burst(v) <= burst(e)
}

func burst(p spec.LimitPlan) int {
	if p.Burst == 0 {
		return p.Rate
	}
	return p.Burst
}
