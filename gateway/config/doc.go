// Package config reads the YAML configuration file of the standalone
// gatescale binary and turns it into a gateway.Config.
//
// The file has a few top-level settings (listen, admin_listen,
// drain_period, shutdown_timeout, trusted_proxies), a mapping of upstreams
// keyed by name, and a list of routes:
//
//	upstreams:
//	  users:
//	    instances: [127.0.0.1:9001, 127.0.0.1:9002]
//	routes:
//	  - name: users
//	    path_prefix: /users
//	    upstream: users
//
// Keys are snake_case; durations are Go duration strings ("250ms", "10s");
// sizes are integers or strings with a unit ("512KiB", "1MiB", "10MB").
// Unknown keys are errors, so a typo is never silently ignored. Keys at the
// top level that begin with "x-" are ignored and may hold YAML anchors for
// use elsewhere in the file.
//
// Parse (and Load, which reads a file) checks everything the gateway would
// refuse — and some mistakes it would accept silently, such as a zero that
// would mean "the default" — and reports every problem at once, one per
// line, as "file:line:col: key.path: message", sorted by position. Each is
// an *Error. The result, Loaded, holds the document, the gateway.Config for
// (*gateway.Gateway).Apply, the listener settings with their defaults, and
// a hash of the file's bytes so that a reload of an unchanged file can be
// skipped.
//
// docs/configuration.md describes every key, its default, and a complete
// example; testdata/gatescale.yaml is that example as a file. Schema
// generates the file's JSON Schema from the same Go types
// (docs/gatescale.schema.json, go generate).
package config
