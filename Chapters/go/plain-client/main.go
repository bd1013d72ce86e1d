// The source's 4.2.1, reduced to its mistake: os.Exit without importing os. It does not compile.
package main

// ANCHOR: mistake
import (
	"fmt"
	"net"
) // and no "os"

func main() {
	conn, err := net.Dial("tcp", "127.0.0.1:8080")
	if err != nil {
		fmt.Println(err)
		os.Exit(-1)
	}
	// ANCHOR_END: mistake
	conn.Close()
}
