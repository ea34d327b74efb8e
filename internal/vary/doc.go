// Package vary adds a request header's name to an answer's Vary field once,
// so that the layers that each make an answer depend on a header (result
// processing by client type, compression, CORS, header variants) leave one
// name each, and none after a "*".
package vary
