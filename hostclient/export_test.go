package hostclient

import (
	"context"

	"github.com/licensehost/licensehost/api"
)

// GetForTest exposes get for a route with a query string.
func GetForTest(c *Client, ctx context.Context, path string) (string, error) {
	var m api.MachineID
	err := c.get(ctx, path, &m)
	return m.MachineID, err
}
