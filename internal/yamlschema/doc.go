// Package yamlschema generates a JSON Schema (draft 2020-12) of the YAML
// form of Go types from the types themselves: struct fields by their yaml
// tags, read exactly as the parser reads them (yamldoc.Fields), and
// descriptions from the fields' doc comments (Comments). The format's own
// forms (durations, sizes, enums) are supplied by the caller; see
// gateway/config's Schema.
//
// With Generator.Tag "json" it describes the JSON form instead (the keys
// encoding/json writes), and Defs gives the named schemas alone: the admin
// API's OpenAPI components come from the same walk as the file's schema.
package yamlschema
