package plugin

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/licensehost/licensehost/sdk"
)

// The direct channel (docs/policy-abi.md §4). go-plugin's net/rpc runs over
// a yamux session: a call is a gob message through four goroutine hand-offs
// on each side, ~70 µs of latency and ~20 µs of CPU in each process on a
// 2-core machine (docs/benchmarks-policy.md). So after the handshake the
// host asks the plugin, with one net/rpc call (Plugin.Listen), to listen on
// a unix socket in the socket directory the host gave it (go-plugin's
// PLUGIN_UNIX_SOCKET_DIR, a fresh directory only the host's user can
// enter), and sends decisions over connections to it, one call at a time
// per connection, as frames:
//
//	request: u32 length | u8 op     | length bytes  (op: OpDecide, OpEcho)
//	answer:  u32 length | u8 status | length bytes  (status: 0 the answer, 1 an error text)
//
// (lengths little-endian). A plugin built before the channel existed has no
// Plugin.Listen; the host then calls Plugin.Decide over net/rpc as before.

// Ops of a request frame.
const (
	OpDecide byte = 1 // the bytes are an ABI v1 input; the answer an ABI v1 output
	OpEcho   byte = 2 // the answer is the request's bytes (the bare cost of a call)
)

const (
	statusOK    byte = 0
	statusError byte = 1

	frameHeader = 5
	// maxRequest bounds the input a plugin reads; the host's inputs are a
	// few hundred bytes.
	maxRequest = 16 << 20
	// socketName is the channel's socket in the plugin's socket directory.
	socketName = "decide.sock"
	// DirectVersion is the version of the frame protocol Plugin.Listen is
	// asked for.
	DirectVersion = 1
)

// ErrTooLarge: an answer is longer than the caller accepts. The connection
// is out of step and must be closed.
var ErrTooLarge = errors.New("answer exceeds the size limit")

// RemoteError is the error text a plugin answered: the input did not decode,
// or the policy function panicked. The connection stays usable.
type RemoteError string

func (e RemoteError) Error() string { return string(e) }

// Listen is the net/rpc method that starts the direct channel: it listens
// on the socket of the channel in the plugin's socket directory, once, and
// answers its path. version must be DirectVersion.
func (s *RPCServer) Listen(version int, path *string) error {
	if version != DirectVersion {
		return fmt.Errorf("policy plugin: direct channel version %d, want %d", version, DirectVersion)
	}
	s.listen.Do(func() {
		dir := os.Getenv(goplugin.EnvUnixSocketDir)
		if dir == "" {
			s.listenErr = errors.New("policy plugin: no socket directory")
			return
		}
		s.path = filepath.Join(dir, socketName)
		var l net.Listener
		if l, s.listenErr = net.Listen("unix", s.path); s.listenErr != nil {
			return
		}
		go s.accept(l)
	})
	*path = s.path
	return s.listenErr
}

func (s *RPCServer) accept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go s.serveConn(c)
	}
}

// serveConn answers the requests of one connection until it closes.
func (s *RPCServer) serveConn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var (
		in  []byte
		out = make([]byte, frameHeader, 512)
	)
	for {
		hdr, err := r.Peek(frameHeader)
		if err != nil {
			return
		}
		n, op := binary.LittleEndian.Uint32(hdr), hdr[4]
		if n > maxRequest {
			return
		}
		_, _ = r.Discard(frameHeader)
		in = append(in[:0], make([]byte, n)...)[:n]
		if _, err := io.ReadFull(r, in); err != nil {
			return
		}
		out = out[:frameHeader]
		status := statusOK
		switch op {
		case OpDecide:
			res, derr := s.decideInto(out, in)
			if derr != nil {
				res, status = append(out, derr.Error()...), statusError
			}
			out = res
		case OpEcho:
			out = append(out, in...)
		default:
			out, status = append(out, fmt.Sprintf("policy plugin: unknown op %d", op)...), statusError
		}
		binary.LittleEndian.PutUint32(out, uint32(len(out)-frameHeader))
		out[4] = status
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// decideInto decodes in, decides and appends the encoded answer to out; a
// panic of the policy function is a *PanicError, as over net/rpc.
func (s *RPCServer) decideInto(out []byte, in []byte) (res []byte, err error) {
	if s.decide == nil {
		return nil, errors.New("policy plugin: no policy function")
	}
	input, err := sdk.DecodeInput(in)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &PanicError{Value: r}
		}
	}()
	return sdk.AppendOutput(out, s.decide(input)), nil
}

// Listen asks the plugin to start the direct channel and returns the path of
// its socket. A plugin without the channel (built with an older sdk)
// answers an rpc.ServerError; one that does not answer within timeout,
// context.DeadlineExceeded.
func (c *RPCClient) Listen(timeout time.Duration) (string, error) {
	var path string
	call := c.c.Go("Plugin.Listen", DirectVersion, &path, make(chan *rpc.Call, 1))
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-call.Done:
		return path, call.Error
	case <-t.C:
		return "", context.DeadlineExceeded
	}
}

// Conn is the host's end of one connection of the direct channel. It makes
// one call at a time.
type Conn struct {
	c    net.Conn
	r    *bufio.Reader
	req  []byte
	resp []byte
}

// Dial connects to the direct channel's socket at path.
func Dial(path string) (*Conn, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, r: bufio.NewReader(c), req: make([]byte, 0, 512)}, nil
}

// Request returns the connection's request buffer, emptied, with room for
// the frame header: append the request's bytes to it and pass it to Call.
func (c *Conn) Request() []byte { return append(c.req[:0], make([]byte, frameHeader)...) }

// Call sends the request req (from Request) under op and returns the
// answer's bytes, valid until the next call. deadline bounds the whole call
// (net.Conn's deadline: the error then wraps os.ErrDeadlineExceeded); an
// answer longer than max is ErrTooLarge; an error answer is a RemoteError.
// After any error other than a RemoteError the connection must be closed.
func (c *Conn) Call(op byte, req []byte, deadline time.Time, max int) ([]byte, error) {
	c.req = req
	binary.LittleEndian.PutUint32(req, uint32(len(req)-frameHeader))
	req[4] = op
	if err := c.c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if _, err := c.c.Write(req); err != nil {
		return nil, err
	}
	hdr, err := c.r.Peek(frameHeader)
	if err != nil {
		return nil, err
	}
	n, status := binary.LittleEndian.Uint32(hdr), hdr[4]
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, n, max)
	}
	_, _ = c.r.Discard(frameHeader)
	if cap(c.resp) < int(n) {
		c.resp = make([]byte, n)
	}
	c.resp = c.resp[:n]
	if _, err := io.ReadFull(c.r, c.resp); err != nil {
		return nil, err
	}
	if status != statusOK {
		return nil, RemoteError(c.resp)
	}
	return c.resp, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// listenState is the direct channel's state of an RPCServer.
type listenState struct {
	listen    sync.Once
	path      string
	listenErr error
}
