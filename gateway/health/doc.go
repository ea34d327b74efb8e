// Package health decides whether an upstream instance should receive
// traffic.
//
// Passive health (outlier ejection) watches real traffic: after N consecutive
// failures (5xx responses or connection errors) an instance is ejected for a
// time that grows with each ejection, then re-admitted. Active health probes
// each instance on an interval and marks it down after a run of failed probes
// and up again after a run of good ones. Both write to a State that the
// upstream's balancer set is rebuilt from, so the request path only ever sees
// instances that are currently admitted.
//
// Passive only decides; the upstream acts, because only it knows how many of
// its instances are already out:
//
//	if passive.Observe(&ep.Health, failed, now) && passive.MayEject(ejected, total) {
//		until := passive.Eject(&ep.Health, now)
//		time.AfterFunc(until.Sub(now), func() { ep.Health.Readmit(); rebuild() })
//		rebuild()
//	}
//
// Active.Run probes in the background and calls back once per round in
// which an instance went down or came up.
package health
