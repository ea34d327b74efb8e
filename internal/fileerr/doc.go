// Package fileerr is the error type of the project's configuration files
// (the gateway's YAML and the adapter's rules): one problem, located by file,
// line, column and field path, formatted the way editors and CI logs link
// to: "file:line:col: path: message".
package fileerr
