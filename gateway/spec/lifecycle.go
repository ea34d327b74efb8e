package spec

import "time"

// Lifecycle states of a route (package lifecycle serves them).
const (
	LifecycleDraft      = "draft"
	LifecyclePublished  = "published"
	LifecycleDeprecated = "deprecated"
	LifecycleRetired    = "retired"
)

// Lifecycle is a route's API lifecycle; a route without one is published.
type Lifecycle struct {
	// State is draft (served only to requests with the preview header),
	// published, deprecated (served with Deprecation and Sunset headers)
	// or retired (answered 410 naming the successor).
	State string `yaml:"state" json:"state"`
	// Since is when the route was deprecated (RFC 3339), sent as
	// Deprecation: @UNIX-SECONDS (RFC 9745).
	Since string `yaml:"since,omitempty" json:"since,omitempty"`
	// Sunset is when a deprecated route goes away (RFC 3339), sent as
	// Sunset (RFC 8594).
	Sunset string `yaml:"sunset,omitempty" json:"sunset,omitempty"`
	// Successor is the path or URL that replaces the route, sent as a
	// Link rel="successor-version" and named in the 410 body.
	Successor string `yaml:"successor,omitempty" json:"successor,omitempty"`
}

func (v *validator) lifecycle(path string, l *Lifecycle) {
	if l == nil {
		return
	}
	switch l.State {
	case LifecycleDraft, LifecyclePublished, LifecycleDeprecated, LifecycleRetired:
	default:
		v.errf(Join(path, "state"), "%q: want draft, published, deprecated or retired", l.State)
	}
	for _, f := range []struct{ name, val string }{{"since", l.Since}, {"sunset", l.Sunset}} {
		if f.val == "" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, f.val); err != nil {
			v.errf(Join(path, f.name), "%q is not an RFC 3339 time (2027-01-31T00:00:00Z)", f.val)
		} else if l.State != LifecycleDeprecated && l.State != LifecycleRetired {
			v.errf(Join(path, f.name), "is for deprecated or retired routes")
		}
	}
	if l.Successor != "" && !validHeaderValue(l.Successor) {
		v.errf(Join(path, "successor"), "%q cannot be sent in a header", l.Successor)
	}
}
