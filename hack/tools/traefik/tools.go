//go:build tools

// Package tools pins Traefik as a dependency of this wrapper module: its
// go.mod has replace directives, so `go install traefik@v3.6.12` refuses it.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
