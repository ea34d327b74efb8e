package console

import (
	"net/http"
	"time"
)

// Instance health states, as the gateway's instance metrics name them.
const (
	Healthy   = "healthy"
	Ejected   = "ejected"
	Unhealthy = "unhealthy"
)

// UpstreamView is one running upstream and its instances.
type UpstreamView struct {
	Name     string `json:"name"`
	Admitted int    `json:"admitted"`
	// Stale is the discovery error while the instance set may be out of
	// date (the registry is unreachable).
	Stale string `json:"stale,omitempty"`
	// Panic: fewer instances are admitted than the upstream's panic
	// threshold, so requests go to all of them, unhealthy ones included
	// (upstream.WithPanicThreshold).
	Panic     bool           `json:"panic,omitempty"`
	Instances []InstanceView `json:"instances"`
}

// InstanceView is one instance: its health — unhealthy (active checks hold
// it down), ejected (passive outlier ejection, until EjectedUntil) or
// healthy — and its load.
type InstanceView struct {
	Addr                string            `json:"addr"`
	State               string            `json:"state"`
	Weight              int               `json:"weight,omitempty"`
	InFlight            int64             `json:"in_flight"`
	ConsecutiveFailures int               `json:"consecutive_failures"`
	Ejections           int               `json:"ejections"`
	EjectedUntil        *time.Time        `json:"ejected_until,omitempty"`
	Meta                map[string]string `json:"meta,omitempty"`
}

// Upstreams returns the gateway's upstreams and their instances now.
func (c *Console) Upstreams() []UpstreamView {
	now := time.Now()
	out := []UpstreamView{}
	for _, u := range c.opts.Gateway.Upstreams() {
		v := UpstreamView{Name: u.Name(), Admitted: u.Admitted(), Panic: u.Panicking(), Instances: []InstanceView{}}
		if err := u.Stale(); err != nil {
			v.Stale = err.Error()
		}
		for _, ep := range u.Endpoints() {
			iv := InstanceView{Addr: ep.Addr, Weight: ep.Weight, InFlight: ep.InFlight(), Meta: ep.Meta,
				ConsecutiveFailures: ep.Health.ConsecutiveFailures(), Ejections: ep.Health.Ejections(), State: Healthy}
			switch {
			case ep.Health.ActiveDown():
				iv.State = Unhealthy
			case ep.Health.Ejected(now):
				iv.State = Ejected
				t := ep.Health.EjectedUntil()
				iv.EjectedUntil = &t
			}
			v.Instances = append(v.Instances, iv)
		}
		out = append(out, v)
	}
	return out
}

func (c *Console) upstreams(w http.ResponseWriter, r *http.Request) { writeJSON(w, c.Upstreams()) }
