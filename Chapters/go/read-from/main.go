// The source's 3.2.1, reduced to its mistake: a stream read with a datagram's method.
// It does not compile; Tests/GuideTests/Literate checks what `go build` says.
package main

import (
	"fmt"
	"net"
)

func main() {
	conn, _ := net.Dial("tcp", "127.0.0.1:8080")
	buf := make([]byte, 1024)
	// ANCHOR: mistake
	n, addr, err := conn.ReadFrom(buf) // net.Conn has Read, not ReadFrom
	// ANCHOR_END: mistake
	fmt.Println(n, addr, err)
}
