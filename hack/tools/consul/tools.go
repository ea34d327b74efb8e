//go:build tools

// Package tools pins the Consul agent as a dependency of this wrapper module.
package tools

import _ "github.com/hashicorp/consul"
