// Command barejson is the yardstick of make bench-http: a bare net/http
// server whose one handler decodes a small JSON body and encodes a small
// JSON answer, nothing else — what any JSON API costs on this machine. It
// prints "listening on http://ADDR" like the daemon.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("barejson listening on http://%s\n", ln.Addr())
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Batch int64 }
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"allowed": in.Batch <= 20, "reason": "ok", "used": 0})
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
