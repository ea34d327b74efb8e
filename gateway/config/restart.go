package config

import (
	"reflect"
	"slices"
)

// RestartRequired returns the key paths of the settings that differ between
// running, the file the process started with, and next, and that only a
// restart applies: the listener addresses, TLS, the listener limits and the
// shutdown timing, which gateway.Server reads once when it starts, and
// tracing, whose tracer the gateway is built with. A reload
// applies the rest of next (upstreams, routes, security, trusted_proxies,
// limits.max_body_bytes, access_log, consul: a new agent address gives the upstreams a
// new client). Defaults count: removing "listen: 127.0.0.1:8080" changes
// nothing.
func RestartRequired(running, next *Loaded) []string {
	if running == nil || next == nil {
		return nil
	}
	var out []string
	changed := func(path string, a, b any) {
		if a != b {
			out = append(out, path)
		}
	}
	changed("listen", running.Listen, next.Listen)
	changed("admin_listen", running.AdminListen, next.AdminListen)
	changed("drain_period", running.DrainPeriod, next.DrainPeriod)
	changed("shutdown_timeout", running.ShutdownTimeout, next.ShutdownTimeout)
	out = append(out, tlsChanges(running.File.TLS, next.File.TLS)...)
	out = append(out, tracingChanges(running.File.Tracing, next.File.Tracing)...)
	a, b := running.Server, next.Server
	changed("limits.max_header_bytes", a.MaxHeaderBytes, b.MaxHeaderBytes)
	changed("limits.max_header_count", a.MaxHeaderCount, b.MaxHeaderCount)
	changed("limits.read_header_timeout", a.ReadHeaderTimeout, b.ReadHeaderTimeout)
	changed("limits.idle_timeout", a.IdleTimeout, b.IdleTimeout)
	return out
}

// tlsChanges names the tls keys that differ, or tls itself when the
// section was added or removed.
func tlsChanges(a, b *TLS) []string {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil || b == nil:
		return []string{"tls"}
	}
	va, vb := reflect.ValueOf(*a), reflect.ValueOf(*b)
	var out []string
	for key, f := range yamlFields(reflect.TypeFor[TLS]()) {
		if !reflect.DeepEqual(va.FieldByIndex(f.Index).Interface(), vb.FieldByIndex(f.Index).Interface()) {
			out = append(out, join("tls", key))
		}
	}
	slices.Sort(out)
	return out
}
