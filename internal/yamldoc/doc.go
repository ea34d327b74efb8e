// Package yamldoc reads a YAML configuration document the way both of the
// project's formats want it read: every problem reported at once, each as a
// *fileerr.Error at its line and column with the key path of the value
// (routes[0].upstream, upstreams.users, overrides["a.b"]).
//
// Parse builds goccy/go-yaml's AST and indexes it: where each path's key
// and value are, which anchors exist, which keys are duplicated, how deep
// the document nests. Check then compares the document with a Go type
// through its yaml tags (yaml:",inline" fields included): unknown keys
// (with a "did you mean" suggestion), a list where a mapping belongs, a
// mapping where a scalar belongs. DecodeEntry decodes with the strict
// decoder, struct field by field and list item by list item, so one bad
// value does not hide the others. Anchors, aliases and merge keys (<<) work
// as in YAML; a Schema lets a format refuse merge keys where it cannot use
// them, and check and describe its own types.
//
// What the values mean is left to the format: the gateway's config package
// and the adapter's config package validate the decoded values and report
// further problems through the same Doc, at the positions it indexed.
package yamldoc
