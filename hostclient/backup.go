package hostclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/licensehost/licensehost/api"
)

// Backup streams a backup of the daemon's whole state (GET /api/backup,
// admin token) to w and returns its size. A cut transfer is an error.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	u := *c.base
	u.Path = c.base.Path + api.PathBackup
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("hostclient: backup: %w", err)
	}
	resp, err := c.send(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
		return 0, errorFor(resp, body)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("hostclient: backup: %w", err)
	}
	if want, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && want != n {
		return n, fmt.Errorf("hostclient: backup: got %d of %d bytes", n, want)
	}
	return n, nil
}
