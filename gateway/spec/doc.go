// Package spec is the declarative model of a gateway's state: upstreams,
// routes, consumers and their policies, as plain serialisable data. The YAML
// file (package config) maps onto it and the admin API will produce it, so
// both go through one validation: Validate.
//
// Every problem Validate finds is a *FieldError that carries the field's
// path (routes[2].upstream). The file renders it as file:line:col, an API as
// the JSON pointer of the field (/routes/2/upstream): see FieldError.Pointer.
//
// The model holds no live objects (clients, resolvers, middleware): package
// live turns a validated Config into what (*gateway.Gateway).Apply runs, and
// keeps what an unchanged part owns across reloads.
package spec
