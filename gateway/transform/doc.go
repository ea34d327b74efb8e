// Package transform processes a route's answers for the client that asked:
// a slim JSON document for a mobile app, the full one for a web page
// (Transformer), and gzip or zstd compression as the client accepts it
// (Compressor). The options are plain data with json/yaml tags; Validate
// reports each problem as a *FieldError naming the field.
//
// # Client types
//
// Rules declare the client types of a route and how a request's type is
// chosen: a request header (X-Client-Type: mobile), a query parameter
// (?client=mobile), User-Agent rules (substrings or a regexp, first match
// wins; DefaultUserAgentRules gives mobile and web), or a default — the
// first that names a declared type. Each ClientType lists the steps its
// answers go through, in this order: Pick (first N or chosen items of
// arrays), Allow (keep only these fields), Deny (remove these), Rename,
// Flatten (lift an object's members into its parent), Wrap (put the
// document under a key). Field paths are dotted names, with "[]" for the
// elements of an array: "user.name", "items[].id" (see ParsePath).
//
// Only successful JSON answers are transformed: status 2xx except 204
// and 206, Content-Type application/json or */*+json. Anything else —
// HTML, event streams, errors (problem+json included) — passes through
// as it comes, flushes included. Requests of a client type with steps ask
// the upstream for an unencoded, whole answer (Accept-Encoding: identity,
// and no Range or If-Range), since a compressed one or a part cannot be
// shaped — and a 206 passing through would hand over what the steps remove. A HEAD gets the header its GET would
// get: Vary, and no Content-Length, ETag or digests where the GET's
// answer is transformed.
// A JSON answer is read whole (so it does not stream), transformed, and
// sent with its new Content-Length; it loses its ETag and digests, which
// describe the upstream's bytes, and says Vary on the request headers the
// client type was chosen by, so a shared cache keeps one copy per type.
// Without an entity tag it is validated by date only: a 304 that a shaped
// type's If-None-Match earned for a JSON answer (the tag is the
// upstream's, valid for other bytes) is dropped and the request made again
// without it — behind the cache, a hit — so it gets the shaped 200, or a
// 304 by If-Modified-Since. "*" keeps its 304, and answers never shaped
// keep their tags. A JSON answer's 304 says the Vary its 200 would, and a
// shaped type's carries no ETag or digests either.
// Members of a transformed object come out sorted by name, numbers keep
// their exact text.
//
// Rules.MaxBodySize bounds the answers read (default 1 MiB). A larger
// one, one encoded all the same, or one that is not valid JSON becomes a
// 502 problem rather than passing through untouched: a client type's Allow
// or Deny often exists to keep fields from a client, and passing the
// answer through would hand them over.
//
// Transformer.Apply does the same to a document in Go, for handlers that
// build their answers themselves (composite routes).
//
// # Compression
//
// Compressor.Middleware negotiates the coding from Accept-Encoding
// (q-values, "*", q=0 refusals; ties go to the first of
// CompressOptions.Encodings, zstd then gzip by default) and compresses with
// github.com/klauspost/compress, reusing pooled encoders. It leaves alone
// answers the upstream already encoded, types not in CompressOptions.Types
// (images, archives, event streams), answers under MinSize bytes, HEAD,
// 204, 304, ranges and Cache-Control: no-transform. Vary: Accept-Encoding
// is added once to every answer whose coding depended on the request. An
// answer of unknown length is held until MinSize bytes arrive; a Flush
// before that starts compressing at once, so streams keep streaming
// (httputil.ReverseProxy flushes answers of unknown length after every
// read).
//
// # Order in a route's chain
//
// Compression goes outermost (it must see the final bytes), transform
// inside it, and a response cache inside transform: the cache then keeps
// one copy of the upstream's answer, shaped per client on the way out.
//
//	compress → transform → cache → proxy
package transform
