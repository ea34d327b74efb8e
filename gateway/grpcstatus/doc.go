// Package grpcstatus is the gRPC status vocabulary the gateway shares: the
// status codes and their names, the mapping from the gateway's own HTTP
// answers to codes, how to tell a gRPC request, and how to read the
// grpc-status a response carried (in its headers for a trailers-only
// response, in its trailers otherwise). It is a leaf package, so metrics,
// the access log and health checks can use it without importing the proxy.
package grpcstatus
