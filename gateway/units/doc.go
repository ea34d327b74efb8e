// Package units holds the quantities of the gateway's configuration: Duration
// (a Go duration string, "250ms") and Size (a byte count, 1048576 or "1MiB"),
// with their YAML and JSON forms. It is a leaf package, so the model (spec)
// and every capability package (cache, transform) declare their settings
// with the same types and the file and the admin API read them alike.
package units
