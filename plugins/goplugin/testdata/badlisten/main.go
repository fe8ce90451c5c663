// Command badlisten is a policy plugin whose Plugin.Listen misbehaves, by
// the name it is built under: "hanglisten" never answers (the host must give
// up within its start timeout rather than hang), "farlisten" answers a
// socket outside the plugin's socket directory (the host must refuse it).
package main

import (
	"net/rpc"
	"os"
	"path/filepath"

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

func (server) Listen(_ int, path *string) error {
	if filepath.Base(os.Args[0]) == "farlisten" {
		*path = filepath.Join(os.TempDir(), "elsewhere.sock")
		return nil
	}
	select {}
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
