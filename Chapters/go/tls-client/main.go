// The source's 4.2.3, reduced to its mistakes: time and os used, never imported. It does not compile.
package main

// ANCHOR: mistake
import (
	"crypto/tls"
	"fmt"
	"net"
) // and no "os" or "time"

func main() {
	config := &tls.Config{}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Minute}, "tcp", "127.0.0.1:8443", config)
	if err != nil {
		fmt.Println(err)
		os.Exit(-1)
	}
	// ANCHOR_END: mistake
	conn.Close()
}
