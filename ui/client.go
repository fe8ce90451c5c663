// Package ui holds the Fyne views of licensehost's desktop companion: the
// status card, the activation form, the remote license details, the device
// switch form, manual refresh and clearing the license (docs/tray.md). The
// views talk to the host daemon through the small Client interface below,
// which hostclient.Client implements; tests use a hand-written fake.
//
// Network calls never run on the UI goroutine: each action runs in its own
// goroutine and hands its result back through fyne.Do.
package ui

import (
	"context"

	"github.com/licensehost/licensehost/api"
)

// Client is what the views need from the host daemon. *hostclient.Client
// implements it. Errors follow hostclient's types (ErrHostNotRunning,
// ErrUnauthorized, *ActionError…), which the views turn into plain words.
type Client interface {
	// Status reads the local status; it never calls the license server.
	Status(ctx context.Context) (*api.Status, error)
	// Activate verifies a license key with the license server.
	Activate(ctx context.Context, licenseKey string) (*api.ActionResponse, error)
	// Heartbeat re-verifies the stored key now (manual refresh).
	Heartbeat(ctx context.Context) (*api.ActionResponse, error)
	// Clear removes the local license: back to the community edition.
	Clear(ctx context.Context) (*api.ActionResponse, error)
	// SwitchDevice hands the license over to another machine code.
	SwitchDevice(ctx context.Context, newMachineID, reason string) (*api.ActionResponse, error)
	// ActivationRequest writes a request file for offline activation.
	ActivationRequest(ctx context.Context, licenseKey string) (*api.ActivationFileAnswer, error)
	// InstallActivation installs an activation file.
	InstallActivation(ctx context.Context, file []byte) (*api.InstallAnswer, error)
	// Activations lists the installed activation files.
	Activations(ctx context.Context) (*api.Activations, error)
}
