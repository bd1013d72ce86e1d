// The source's 3.2.2, reduced to its mistakes: Recvfrom's arguments, and a String method
// that SockaddrInet4 does not have. It does not compile.
package main

import (
	"fmt"
	"syscall"
)

func main() {
	fd, _ := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK, 0)
	var b [1]byte
	var addr syscall.SockaddrInet4
	// ANCHOR: mistake
	n, _, err := syscall.Recvfrom(fd, b[0:], &addr) // the third argument is flags, an int
	fmt.Println(addr.String(), n, err)              // SockaddrInet4 is a plain struct
	// ANCHOR_END: mistake
}
