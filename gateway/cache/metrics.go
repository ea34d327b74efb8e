package cache

import (
	"errors"
	"fmt"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatescale/gatescale/internal/cowmap"
)

// Metric names, fixed like the gateway's others (docs/metrics.md).
const (
	RequestsTotal  = "gatescale_cache_requests_total"
	EvictionsTotal = "gatescale_cache_evictions_total"
	StoredBytes    = "gatescale_cache_stored_bytes"
	StoredObjects  = "gatescale_cache_stored_objects"
)

// Values of the result label of RequestsTotal.
const (
	ResultHit       = "hit"       // served fresh from the store
	ResultMiss      = "miss"      // fetched from the upstream (or 504 to only-if-cached)
	ResultStale     = "stale"     // served stale (while revalidating, or because the upstream failed)
	ResultCoalesced = "coalesced" // waited for another request's fetch and got its answer
	ResultBypass    = "bypass"    // not cacheable: passed through
)

// MaxRouteLabels bounds the distinct route label values; later routes are
// counted as OtherRoute. Route names come from configuration, so this only
// matters when a Go caller of Cache.Do invents names.
const (
	MaxRouteLabels = 512
	OtherRoute     = "other"
)

// Metrics counts the caches' requests and the store's evictions and
// contents, by route:
//
//   - gatescale_cache_requests_total{route,result}: one per request the
//     cache saw; result is hit, miss, stale, coalesced or bypass.
//   - gatescale_cache_evictions_total{route,reason}: entries removed to
//     stay within the byte budget (reason "size") or because they could no
//     longer be served even stale ("expired"). Purges are not evictions.
//   - gatescale_cache_stored_bytes{route}: the weight of the stored
//     entries (bodies, headers, keys and bookkeeping), in bytes.
//   - gatescale_cache_stored_objects{route}: stored answers (variants
//     included).
type Metrics struct {
	requests  *prometheus.CounterVec
	evictions *prometheus.CounterVec
	bytes     *prometheus.GaugeVec
	objects   *prometheus.GaugeVec

	routes cowmap.Map[string, *routeSeries]
}

type routeSeries struct {
	hit, miss, stale, coalesced, bypass prometheus.Counter
	evictSize, evictExpired             prometheus.Counter
	bytes, objects                      prometheus.Gauge
}

// NewMetrics creates the collectors and registers them on reg, all or
// none.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("cache metrics: nil Registerer")
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotal,
			Help: "Requests seen by the response cache, by route and result (hit, miss, stale, coalesced, bypass).",
		}, []string{"route", "result"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: EvictionsTotal,
			Help: `Cache entries evicted, by route and reason ("size": byte budget, "expired": no longer servable).`,
		}, []string{"route", "reason"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: StoredBytes,
			Help: "Bytes held by the response cache (bodies, headers, keys, bookkeeping), by route.",
		}, []string{"route"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: StoredObjects,
			Help: "Answers held by the response cache, variants included, by route.",
		}, []string{"route"}),
	}
	cs := []prometheus.Collector{m.requests, m.evictions, m.bytes, m.objects}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("cache metrics: register: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) route(name string) *routeSeries {
	// OtherRoute itself is admitted beyond the bound, once.
	return m.routes.GetWithin(name, MaxRouteLabels, OtherRoute, m.newRouteSeries)
}

func (m *Metrics) newRouteSeries(name string) *routeSeries {
	return &routeSeries{
		hit:          m.requests.WithLabelValues(name, ResultHit),
		miss:         m.requests.WithLabelValues(name, ResultMiss),
		stale:        m.requests.WithLabelValues(name, ResultStale),
		coalesced:    m.requests.WithLabelValues(name, ResultCoalesced),
		bypass:       m.requests.WithLabelValues(name, ResultBypass),
		evictSize:    m.evictions.WithLabelValues(name, "size"),
		evictExpired: m.evictions.WithLabelValues(name, "expired"),
		bytes:        m.bytes.WithLabelValues(name),
		objects:      m.objects.WithLabelValues(name),
	}
}

func (m *Metrics) count(route, result string) {
	if m == nil {
		return
	}
	rs := m.route(route)
	switch result {
	case ResultHit:
		rs.hit.Inc()
	case ResultMiss:
		rs.miss.Inc()
	case ResultStale:
		rs.stale.Inc()
	case ResultCoalesced:
		rs.coalesced.Inc()
	default:
		rs.bypass.Inc()
	}
}

func (m *Metrics) added(n *node, keyLen int64) {
	if m == nil || n == nil {
		return
	}
	rs := m.route(n.route)
	rs.bytes.Add(float64(n.weight + keyLen))
	rs.objects.Add(float64(len(n.objects)))
}

func (m *Metrics) removed(n *node, keyLen int64, cause otter.DeletionCause) {
	if m == nil {
		return
	}
	rs := m.route(n.route)
	rs.bytes.Sub(float64(n.weight + keyLen))
	rs.objects.Sub(float64(len(n.objects)))
	switch cause {
	case otter.CauseOverflow:
		rs.evictSize.Inc()
	case otter.CauseExpiration:
		rs.evictExpired.Inc()
	}
}
