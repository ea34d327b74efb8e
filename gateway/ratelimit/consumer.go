package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatescale/gatescale/gateway/consumer"
)

// ConsumerLimits enforces the limits attached to the authenticated consumer
// (consumer.Consumer.RateLimit): one budget per consumer and limit name,
// whichever route the consumer calls (two consumers never share one, even
// under the same limit name). Put it after authentication; a request without a
// consumer record passes. local keeps store: local budgets, redis store:
// redis ones (with redis nil those find their store down, and their
// failure_mode decides); pass the same stores to the middleware of every
// route, so that a budget is shared across routes.
func ConsumerLimits(local, redis Store, opts ...Option) func(http.Handler) http.Handler {
	o := newOptions(opts)
	// Compiled policies by consumer ID, each with the record it was
	// compiled from. Records are immutable (a consumers reload makes new
	// ones), so a different pointer means "compile again" and replaces the
	// entry: the cache holds one entry per consumer however often the
	// consumers file is reloaded, and lives as long as the route table
	// that built it.
	var cache sync.Map // consumer ID -> *compiled
	// One outage is one warning (and one recovery), not one per consumer
	// that calls during it nor per consumers reload: every plan shares
	// the flag that says a store is failing.
	failing := new(atomic.Bool)
	type compiled struct {
		from   *consumer.Consumer
		states []*policyState
		header []string
	}
	return func(next http.Handler) http.Handler {
		o := o
		o.born = o.metrics.born() // wrapped when a route table is built
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := consumer.FromContext(r.Context())
			if id == nil || id.Consumer == nil || len(id.Consumer.RateLimit) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			c := id.Consumer
			v, ok := cache.Load(c.ID)
			if !ok || v.(*compiled).from != c {
				policies := make([]Policy, 0, len(c.RateLimit))
				for j, l := range c.RateLimit {
					p := Policy{Name: c.LimitName(j), Limit: Limit{Rate: l.Rate, Period: time.Duration(l.Per), Burst: l.Burst},
						Store: local, FailClosed: l.FailureMode == "closed"}
					if p.Period == 0 {
						p.Period = time.Second
					}
					if l.Store == "redis" {
						p.Store = redis
						if redis == nil {
							// Validation refuses this for inline consumers; a
							// consumers file may still say it. Dropping the
							// limit would leave the consumer unlimited even
							// with failure_mode closed: its store is down.
							p.Store = noRedis{}
						}
					}
					if p.Validate() != nil {
						continue
					}
					policies = append(policies, p)
				}
				states, header := compile(policies)
				// The budgets are this consumer's: limit names alone
				// collide between consumers ("consumer:a#2" is both a's
				// second default and a#2's first; a plan name such as
				// "gold" is shared). The ID comes last, after a fixed
				// prefix, so two IDs never give one bucket. The leading
				// "|" keeps them apart from route policies' buckets
				// (Name + "|" + key) in a store both use: a route policy
				// "gold" keyed by consumer would otherwise be alice's plan
				// "gold" (policy names never begin with "|").
				for _, st := range states {
					st.bucket = "|" + st.bucket + "consumer:" + c.ID
					st.failing = failing
				}
				v = &compiled{from: c, states: states, header: header}
				cache.Store(c.ID, v)
			}
			cc := v.(*compiled)
			if len(cc.states) == 0 || o.enforce(w, r, cc.states, cc.header) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// noRedis is the store of a consumer's store: redis limit when the gateway
// has no Redis: always unavailable, so the limit's failure mode applies and
// the log and metrics say so.
type noRedis struct{}

func (noRedis) Allow(context.Context, string, Limit) (Result, error) {
	return Result{}, fmt.Errorf("%w: the limit says store redis, but no Redis is configured", ErrUnavailable)
}
