package hostclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/licensehost/licensehost/api"
)

// Event is one entry of the host's event log.
type Event struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
}

// Events returns up to limit entries of the event log, newest first (admin
// token).
func (c *Client) Events(ctx context.Context, limit int) ([]Event, error) {
	var out struct {
		Events []Event `json:"events"`
	}
	if err := c.get(ctx, fmt.Sprintf("%s?limit=%d", api.PathEvents, limit), &out); err != nil {
		return nil, err
	}
	return out.Events, nil
}

// ReloadPolicy asks the daemon to reload its policy directory (admin token).
// A refused reload leaves the previous policies in force and returns an
// *APIError carrying the reason.
func (c *Client) ReloadPolicy(ctx context.Context) error {
	resp, body, err := c.do(ctx, http.MethodPost, api.PathPolicyReload, struct{}{}, c.actionTimeout)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errorFor(resp, body)
	}
	var ok struct{ Success bool }
	if err := json.Unmarshal(body, &ok); err != nil || !ok.Success {
		return errorFor(resp, body)
	}
	return nil
}
