//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package proxy

import "net"

// socketOpen cannot peek on this platform: the exchange finds out.
func socketOpen(net.Conn) bool { return true }
