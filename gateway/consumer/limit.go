package consumer

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gatescale/gatescale/gateway/units"
)

// Limit is a flow limit attached to a consumer (a plan, a tier): every call
// it makes on a route that authenticates it counts against one budget,
// whichever route it calls — and whichever replica serves it, with store
// redis. Route limits still apply on top.
type Limit struct {
	// Name names the limit in the RateLimit headers and metrics (default
	// "consumer:ID", then "#2", "#3"...). The budget is the consumer's own
	// whatever the name: consumers on a plan of one name do not share it.
	Name  string         `yaml:"name,omitempty" json:"name,omitempty"`
	Rate  int            `yaml:"rate" json:"rate"`
	Per   units.Duration `yaml:"per,omitempty" json:"per,omitempty"`
	Burst int            `yaml:"burst,omitempty" json:"burst,omitempty"`
	// Store is local (default: per replica) or redis (shared).
	Store string `yaml:"store,omitempty" json:"store,omitempty"`
	// FailureMode is open (default) or closed, with store redis.
	FailureMode string `yaml:"failure_mode,omitempty" json:"failure_mode,omitempty"`
}

// LimitName is the name of c's j-th limit, defaults applied.
func (c *Consumer) LimitName(j int) string {
	if n := c.RateLimit[j].Name; n != "" {
		return n
	}
	if j == 0 {
		return "consumer:" + c.ID
	}
	return "consumer:" + c.ID + "#" + strconv.Itoa(j+1)
}

// checkLimits reports what is wrong with c's limits, as "path: message".
func checkLimits(c *Consumer, path string, bad func(format string, args ...any)) {
	names := map[string]int{}
	for j, l := range c.RateLimit {
		lp := fmt.Sprintf("%s.rate_limit[%d]", path, j)
		name := c.LimitName(j)
		if k, dup := names[name]; dup {
			bad("%s.name: %q is already the name of rate_limit[%d]", lp, name, k)
		}
		names[name] = j
		if l.Rate < 1 {
			bad("%s.rate: must be at least 1 (requests per `per`)", lp)
		}
		if per := time.Duration(l.Per); per != 0 && (per < time.Second || per%time.Second != 0) {
			bad("%s.per: must be a whole number of seconds, at least 1s (default 1s)", lp)
		}
		if l.Burst < 0 {
			bad("%s.burst: must be at least 1 (default: rate)", lp)
		}
		// What ratelimit.Limit.Validate refuses (this package cannot import
		// it): ratelimit.ConsumerLimits would leave such a limit out.
		if per := cmp.Or(time.Duration(l.Per), time.Second); l.Rate >= 1 && l.Burst >= 0 && per >= time.Second {
			emission := per / time.Duration(l.Rate)
			switch burst := cmp.Or(l.Burst, l.Rate); {
			case emission <= 0:
				bad("%s.rate: %d per %v is more than one request a nanosecond", lp, l.Rate, per)
			case int64(burst) > math.MaxInt64/int64(emission):
				bad("%s.burst: %d at rate %d per %v spans more than 292 years (burst × per / rate)", lp, burst, l.Rate, per)
			}
		}
		switch l.Store {
		case "", "local", "redis":
		default:
			bad("%s.store: %q is not local or redis", lp, l.Store)
		}
		switch {
		case l.FailureMode != "" && l.FailureMode != "open" && l.FailureMode != "closed":
			bad("%s.failure_mode: %q is not open or closed", lp, l.FailureMode)
		case l.FailureMode != "" && l.Store != "redis":
			bad("%s.failure_mode: is only used with store: redis", lp)
		}
	}
}
