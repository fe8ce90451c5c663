// Command netrpconly is a policy plugin as an sdk before the direct channel
// built it: net/rpc's Plugin.Decide and Plugin.Echo, no Plugin.Listen. The
// host must fall back to net/rpc for it.
package main

import (
	"net/rpc"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/licensehost/licensehost/sdk"
	"github.com/licensehost/licensehost/sdk/plugin"
)

type server struct{}

func (server) Decide(in []byte, reply *[]byte) error {
	input, err := sdk.DecodeInput(in)
	if err != nil {
		return err
	}
	*reply = sdk.AppendOutput(nil, sdk.Builtin(input))
	return nil
}

func (server) Echo(in []byte, reply *[]byte) error {
	*reply = in
	return nil
}

type netrpcPlugin struct{}

func (netrpcPlugin) Server(*goplugin.MuxBroker) (any, error)              { return server{}, nil }
func (netrpcPlugin) Client(*goplugin.MuxBroker, *rpc.Client) (any, error) { return nil, nil }

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  plugin.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{sdk.ABIVersion: {plugin.Name: netrpcPlugin{}}},
	})
}
