// Package plugin serves a policy function as a hashicorp/go-plugin binary
// and holds the pieces the host shares with it: the handshake, the net/rpc
// protocol and the direct channel decisions go over (direct.go). An author's
// main is one line:
//
//	func main() { plugin.Serve(decide) }
//
// The binary is started by the host, never by hand. Input and output cross
// the process boundary in the same ABI v1 bytes as WebAssembly policies.
package plugin

import (
	"context"
	"errors"
	"net/rpc"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/licensehost/licensehost/sdk"
)

// Name is the name the policy is dispensed under.
const Name = "policy"

// Handshake is the go-plugin handshake of licensehost policy plugins. The
// cookie only keeps the binary from being run by hand; it is not a secret.
// The protocol version is the ABI version.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  sdk.ABIVersion,
	MagicCookieKey:   "LICENSEHOST_POLICY_PLUGIN",
	MagicCookieValue: "6f1c0e2a-policy-abi",
}

// Serve runs decide as a policy plugin until the host stops it. A panic in
// decide is answered as an error, which makes the host apply its built-in
// policy for that call.
func Serve(decide sdk.Decider) {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			sdk.ABIVersion: {Name: &RPCPlugin{Decide: decide}},
		},
	})
}

// RPCPlugin is the go-plugin net/rpc plugin of a policy; Decide is set on the
// plugin side only.
type RPCPlugin struct {
	Decide sdk.Decider
}

var _ goplugin.Plugin = (*RPCPlugin)(nil)

// Server implements goplugin.Plugin.
func (p *RPCPlugin) Server(*goplugin.MuxBroker) (any, error) {
	return &RPCServer{decide: p.Decide}, nil
}

// Client implements goplugin.Plugin.
func (p *RPCPlugin) Client(_ *goplugin.MuxBroker, c *rpc.Client) (any, error) {
	return &RPCClient{c: c}, nil
}

// RPCServer is the net/rpc receiver in the plugin process.
type RPCServer struct {
	decide sdk.Decider
	listenState
}

// Decide decodes an ABI v1 input, decides and answers the encoded output.
func (s *RPCServer) Decide(in []byte, reply *[]byte) (err error) {
	if s.decide == nil {
		return errors.New("policy plugin: no policy function")
	}
	input, err := sdk.DecodeInput(in)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	*reply = sdk.AppendOutput(nil, s.decide(input))
	return nil
}

// Echo answers its argument; the host's benchmarks measure the bare cost of
// a plugin call with it.
func (s *RPCServer) Echo(in []byte, reply *[]byte) error {
	*reply = in
	return nil
}

// PanicError is the error answered when the policy function panicked.
type PanicError struct{ Value any }

func (e *PanicError) Error() string {
	switch v := e.Value.(type) {
	case error:
		return "policy panicked: " + v.Error()
	case string:
		return "policy panicked: " + v
	}
	return "policy panicked"
}

// RPCClient calls a policy plugin; the host gets one from Dispense.
type RPCClient struct {
	c *rpc.Client
}

// Decide sends an encoded input and returns the encoded output. After
// timeout (none when it is 0) it returns context.DeadlineExceeded, and when
// ctx ends first ctx.Err(), without waiting: the call may still be running
// in the plugin, which the host then stops.
func (c *RPCClient) Decide(ctx context.Context, in []byte, timeout time.Duration) ([]byte, error) {
	return c.call(ctx, "Plugin.Decide", in, timeout)
}

// Echo sends in and returns what the plugin echoed, as Decide does.
func (c *RPCClient) Echo(ctx context.Context, in []byte, timeout time.Duration) ([]byte, error) {
	return c.call(ctx, "Plugin.Echo", in, timeout)
}

// timers are the stopped timers of calls' timeouts: a timer from here
// costs no allocation, unlike a context.WithTimeout per call (a context, a
// timer, and a child registered with the caller's context).
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

func (c *RPCClient) call(ctx context.Context, method string, in []byte, timeout time.Duration) ([]byte, error) {
	var reply []byte
	if ctx.Done() == nil && timeout <= 0 {
		err := c.c.Call(method, in, &reply)
		return reply, err
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := timers.Get().(*time.Timer)
		t.Reset(timeout)
		// Since Go 1.23 a stopped timer delivers nothing stale: it can
		// be reused whether it fired or not.
		defer func() { t.Stop(); timers.Put(t) }()
		expired = t.C
	}
	call := c.c.Go(method, in, &reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		return reply, call.Error
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-expired:
		return nil, context.DeadlineExceeded
	}
}
