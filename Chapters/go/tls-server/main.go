// The source's 4.1.2, reduced to its mistake: the same two unused imports as 4.1.1.
// It does not compile.
package main

// ANCHOR: mistake
import (
	"crypto/tls"
	"fmt" // never used
	"log"
	"os" // never used
)

// ANCHOR_END: mistake

func main() {
	config := tls.Config{MinVersion: tls.VersionTLS12}
	ln, err := tls.Listen("tcp", "127.0.0.1:8443", &config)
	if err != nil {
		log.Fatalln(err)
	}
	ln.Close()
}
