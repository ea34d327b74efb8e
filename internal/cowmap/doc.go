// Package cowmap is a map that is read without a lock and written by
// copying it. It suits what is looked up on every request and added to
// rarely, such as a metric's series per route: a read is one atomic load
// and a map lookup, and allocates nothing.
package cowmap
