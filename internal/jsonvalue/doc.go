// Package jsonvalue decodes an upstream's JSON answer into Go values the
// gateway may change and encode again without changing what it does not
// touch: numbers stay json.Number, so their text — a 64-bit id above 2^53,
// a decimal — is kept exactly instead of being rounded through float64.
// Append encodes such values again, exactly as encoding/json would but
// without its reflection. gateway/transform (answers shaped per client
// type) and gateway/compose (answers merged) both decode and encode with
// it.
package jsonvalue
