// The source's 4.1.1, reduced to its mistake: two imports it never uses. It does not compile.
package main

// ANCHOR: mistake
import (
	"fmt" // never used
	"log"
	"net"
	"os" // never used
)

// ANCHOR_END: mistake

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		log.Fatalln(err)
	}
	ln.Close()
}
