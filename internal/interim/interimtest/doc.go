// Package interimtest records the interim (1xx) answers, such as 103 Early
// Hints, that an HTTP client receives before the final answer: tests of
// code that passes them on check what reached the client with it.
package interimtest
