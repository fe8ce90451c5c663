// Command hanglisten is a policy plugin whose Plugin.Listen never answers:
// the host must give up on it within its start timeout rather than hang.
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

func (server) Listen(int, *string) error { select {} }

type netrpcPlugin struct{}

func (netrpcPlugin) Server(*goplugin.MuxBroker) (any, error)              { return server{}, nil }
func (netrpcPlugin) Client(*goplugin.MuxBroker, *rpc.Client) (any, error) { return nil, nil }

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  plugin.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{sdk.ABIVersion: {plugin.Name: netrpcPlugin{}}},
	})
}
