// Package interim writes interim (1xx) responses, such as 103 Early Hints,
// through an http.ResponseWriter without changing the final response.
//
// net/http's ResponseWriter sends its whole header map with an interim
// response and keeps that map for the final one, so fields put there for
// the interim response alone would otherwise reach the final response too
// — and clearing the map afterwards, as httputil.ReverseProxy does, drops
// the fields earlier middleware set for the final response.
package interim
