//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package proxy

import (
	"net"
	"syscall"
)

// socketOpen peeks at conn without waiting or consuming: an idle
// connection is open when nothing is there to read (EAGAIN). End of
// stream means the upstream closed it, data means it sent something
// unasked, and any other error means it is broken.
func socketOpen(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true // not a socket (a test's pipe): the exchange will tell
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, perr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = perr == syscall.EAGAIN || perr == syscall.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && open
}
