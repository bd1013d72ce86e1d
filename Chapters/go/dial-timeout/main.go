// The source's 4.2.2, reduced to its mistake: os.Exit without importing os. It does not compile.
package main

// ANCHOR: mistake
import (
	"fmt"
	"net"
	"time"
) // and no "os"

func main() {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:8080", 5*time.Second)
	if err != nil {
		fmt.Println(err)
		os.Exit(-1)
	}
	// ANCHOR_END: mistake
	conn.Close()
}
