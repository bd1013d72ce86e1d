// The Go side of `make bench` (Chapters/A1-benchmarks.md): the source guide's servers,
// written as careful Go, each mode doing what the Swift server it is compared with does.
//
//	bench-go hello -listen ADDR [-bytewise] [-linger]   greeting per connection, goroutine each
//	bench-go tls -listen ADDR -cert F -key F [-bytewise]
//	bench-go bulk-server -listen ADDR -buffer N         read and discard
//	bench-go bulk-client -dial ADDR -buffer N -seconds S  write for S seconds, print bytes/s
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"
)

var greeting = []byte("Hello World!\r\n")

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: bench-go hello|tls|bulk-server|bulk-client [flags]")
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	listen := flags.String("listen", "127.0.0.1:0", "address to listen on")
	dial := flags.String("dial", "", "address to send to")
	bytewise := flags.Bool("bytewise", false, "write the greeting one byte per Write, as the source does")
	linger := flags.Bool("linger", false, "after the greeting, CloseWrite and wait for the client's EOF (TLS too)")
	cert := flags.String("cert", "", "certificate file")
	key := flags.String("key", "", "key file")
	buffer := flags.Int("buffer", 65536, "bytes per read or write")
	seconds := flags.Float64("seconds", 3, "how long the bulk client sends")
	flags.Parse(os.Args[2:])

	switch os.Args[1] {
	case "bulk-client":
		bulkClient(*dial, *buffer, time.Duration(*seconds*float64(time.Second)))
		return
	case "hello", "tls", "bulk-server":
	default:
		log.Fatalf("unknown mode %s", os.Args[1])
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if os.Args[1] == "tls" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Print(err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if os.Args[1] == "bulk-server" {
			go discard(conn, *buffer)
		} else {
			go hello(conn, *bytewise, *linger)
		}
	}
}

func hello(conn net.Conn, bytewise, linger bool) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if tlsConn, ok := conn.(*tls.Conn); ok {
		if err := tlsConn.Handshake(); err != nil {
			return
		}
	}
	if bytewise {
		for i := range greeting {
			if _, err := conn.Write(greeting[i : i+1]); err != nil {
				return
			}
		}
	} else if _, err := conn.Write(greeting); err != nil {
		return
	}
	// A graceful close, as our servers make (Connection.closeGracefully): our FIN (TLS:
	// close_notify, then FIN), then the client's bytes until its FIN, so it gets no reset.
	if halfCloser, ok := conn.(interface{ CloseWrite() error }); ok && linger {
		halfCloser.CloseWrite()
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, conn)
	}
}

func discard(conn net.Conn, size int) {
	defer conn.Close()
	buffer := make([]byte, size)
	for {
		if _, err := conn.Read(buffer); err != nil {
			return
		}
	}
}

func bulkClient(address string, size int, duration time.Duration) {
	conn, err := net.Dial("tcp", address)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	buffer := make([]byte, size)
	start := time.Now()
	total := 0
	for time.Since(start) < duration {
		n, err := conn.Write(buffer)
		total += n
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("bytes/s %.0f\n", float64(total)/time.Since(start).Seconds())
}
