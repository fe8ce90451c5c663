package hostclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/licensehost/licensehost/api"
)

// rawBody is a request body sent as it is (text/plain), not as JSON.
type rawBody []byte

// ActivationError is a refused offline-activation call: the daemon's code
// (not_armored, wrong_machine, expired, in_force, …; docs/activation-files.md)
// and its plain message. StatusCode 400 means the file or argument itself is
// bad; 403, 404 and 409 that it was refused here.
type ActivationError struct {
	StatusCode int
	Code       string
	Message    string
}

func (e *ActivationError) Error() string { return e.Message }

// activation sends one activation call; refusals with an api.Error body
// (other than 401) become *ActivationError.
func (c *Client) activation(ctx context.Context, method, path string, in, out any) error {
	resp, body, err := c.do(ctx, method, path, in, c.timeout)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		err := errorFor(resp, body)
		if ae, ok := err.(*APIError); ok && resp.StatusCode != http.StatusUnauthorized && ae.Body.Error != "" && ae.Body.Error != "forbidden" {
			return &ActivationError{StatusCode: resp.StatusCode, Code: ae.Body.Error, Message: ae.Body.Message}
		}
		return err
	}
	if out == nil {
		return nil
	}
	return decode(resp, body, out)
}

// ActivationRequest writes a request file of this installation (with
// licenseKey when not empty).
func (c *Client) ActivationRequest(ctx context.Context, licenseKey string) (*api.ActivationFileAnswer, error) {
	var a api.ActivationFileAnswer
	if err := c.activation(ctx, http.MethodPost, api.PathActivationRequest, api.ActivationRequestBody{LicenseKey: licenseKey}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// InstallActivation installs an activation file (the file's bytes as they
// are).
func (c *Client) InstallActivation(ctx context.Context, file []byte) (*api.InstallAnswer, error) {
	var a api.InstallAnswer
	if err := c.activation(ctx, http.MethodPost, api.PathActivationInstall, rawBody(file), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Activations lists the installed activation files.
func (c *Client) Activations(ctx context.Context) (*api.Activations, error) {
	var a api.Activations
	if err := c.activation(ctx, http.MethodGet, api.PathActivations, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// UninstallActivation uninstalls serial and returns the uninstall receipt.
func (c *Client) UninstallActivation(ctx context.Context, serial string) (*api.ActivationFileAnswer, error) {
	var a api.ActivationFileAnswer
	if err := c.activation(ctx, http.MethodPost, api.PathActivationUninstall, api.SerialBody{Serial: serial}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ActivationReceipt returns the uninstall receipt of a serial uninstalled
// earlier.
func (c *Client) ActivationReceipt(ctx context.Context, serial string) (*api.ActivationFileAnswer, error) {
	var a api.ActivationFileAnswer
	if err := c.activation(ctx, http.MethodPost, api.PathActivationReceipt, api.SerialBody{Serial: serial}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// DeleteActivation deletes an expired or untrusted activation file.
func (c *Client) DeleteActivation(ctx context.Context, serial string) error {
	if err := c.activation(ctx, http.MethodPost, api.PathActivationDelete, api.SerialBody{Serial: serial}, nil); err != nil {
		return fmt.Errorf("%w", err)
	}
	return nil
}
