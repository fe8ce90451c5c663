package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/activation"
)

// Activations is what the server needs for offline activation (satisfied
// by *activation.Manager; docs/activation-files.md).
type Activations interface {
	Request(ctx context.Context, licenseKey string) ([]byte, error)
	Install(ctx context.Context, file []byte) (activation.Info, bool, error)
	List(ctx context.Context) ([]activation.Info, error)
	Uninstall(ctx context.Context, serial string) ([]byte, error)
	Delete(ctx context.Context, serial string) error
	Receipt(ctx context.Context, serial string) ([]byte, error)
	InstallationKey() string
	Trusted() []string
}

func (s *Server) activationRoutes() []route {
	return []route{
		{http.MethodPost, api.PathActivationRequest, roleAdmin, s.activationRequest},
		{http.MethodPost, api.PathActivationInstall, roleAdmin, s.activationInstall},
		{http.MethodPost, api.PathActivationUninstall, roleAdmin, s.receiptFile(Activations.Uninstall)},
		{http.MethodPost, api.PathActivationDelete, roleAdmin, s.activationDelete},
		{http.MethodPost, api.PathActivationReceipt, roleAdmin, s.receiptFile(Activations.Receipt)},
		{http.MethodGet, api.PathActivations, roleApp, s.activationList},
	}
}

// activationErrors maps each refusal to its status and code; the message
// is the error's own (docs/activation-files.md lists them).
var activationErrors = []struct {
	err    error
	status int
	code   string
}{
	{actfile.ErrTooLarge, 400, "too_large"},
	{actfile.ErrNotArmored, 400, "not_armored"},
	{actfile.ErrWrongType, 400, "wrong_type"},
	{actfile.ErrBadArmor, 400, "damaged"},
	{actfile.ErrBadBase64, 400, "bad_base64"},
	{actfile.ErrBadJSON, 400, "bad_json"},
	{actfile.ErrUnknownVersion, 400, "unknown_version"},
	{actfile.ErrInvalid, 400, "damaged"},
	{actfile.ErrBadSignature, 400, "damaged"},
	{actfile.ErrUntrustedKey, 403, "untrusted_key"},
	{activation.ErrWrongMachine, 403, "wrong_machine"},
	{activation.ErrAlreadyUninstalled, 403, "already_uninstalled"},
	{activation.ErrExpired, 403, "expired"},
	{activation.ErrIssuedInFuture, 403, "issued_in_future"},
	{activation.ErrInvalidSerial, 400, "bad_request"},
	{activation.ErrNotInstalled, 404, "not_installed"},
	{activation.ErrNotUninstallable, 409, "not_uninstallable"},
	{activation.ErrUninstallExpired, 409, "expired"},
	{activation.ErrInForce, 409, "in_force"},
}

func activationError(err error) error {
	for _, e := range activationErrors {
		if errors.Is(err, e.err) {
			return &httpError{e.status, e.code, err.Error()}
		}
	}
	return err
}

func (s *Server) activationsOrFail() (Activations, error) {
	if s.opt.Activations == nil {
		return nil, &httpError{http.StatusServiceUnavailable, "unavailable", "offline activation is not configured on this daemon"}
	}
	return s.opt.Activations, nil
}

func (s *Server) activationRequest(w http.ResponseWriter, r *http.Request) error {
	a, err := s.activationsOrFail()
	if err != nil {
		return err
	}
	var req api.ActivationRequestBody
	if err := decode(w, r, &req); err != nil {
		return err
	}
	b, err := a.Request(r.Context(), req.LicenseKey)
	if err != nil {
		return activationError(err)
	}
	writeJSON(w, http.StatusOK, api.ActivationFileAnswer{Success: true, MachineID: s.eng.MachineID(), InstallationKey: a.InstallationKey(), File: string(b)})
	return nil
}

func (s *Server) activationInstall(w http.ResponseWriter, r *http.Request) error {
	a, err := s.activationsOrFail()
	if err != nil {
		return err
	}
	// The body is the file itself. Read one byte more than a file may
	// have, so a larger one is refused as too large, not cut.
	body, err := io.ReadAll(io.LimitReader(r.Body, actfile.MaxFileSize+1))
	if err != nil {
		return badRequest("could not read the request body: %v", err)
	}
	info, already, err := a.Install(r.Context(), body)
	if err != nil {
		return activationError(err)
	}
	writeJSON(w, http.StatusOK, api.InstallAnswer{Success: true, Already: already, Activation: info})
	return nil
}

func (s *Server) activationList(w http.ResponseWriter, r *http.Request) error {
	a, err := s.activationsOrFail()
	if err != nil {
		return err
	}
	infos, err := a.List(r.Context())
	if err != nil {
		return err
	}
	out := api.Activations{MachineID: s.eng.MachineID(), InstallationKey: a.InstallationKey(), TrustedKids: a.Trusted(),
		Activations: append(make([]api.Activation, 0, len(infos)), infos...)}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) serialBody(w http.ResponseWriter, r *http.Request) (Activations, string, error) {
	a, err := s.activationsOrFail()
	if err != nil {
		return nil, "", err
	}
	var req api.SerialBody
	if err := decode(w, r, &req); err != nil {
		return nil, "", err
	}
	serial := strings.TrimSpace(req.Serial)
	if !actfile.ValidSerial(serial) {
		return nil, "", badRequest("serial must be 4-64 characters of A-Z, 0-9 and '-'")
	}
	return a, serial, nil
}

// receiptFile answers POST uninstall and POST receipt: the uninstall
// receipt that file (Activations.Uninstall or .Receipt) gives for the
// body's serial.
func (s *Server) receiptFile(file func(a Activations, ctx context.Context, serial string) ([]byte, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, serial, err := s.serialBody(w, r)
		if err != nil {
			return err
		}
		b, err := file(a, r.Context(), serial)
		if err != nil {
			return activationError(err)
		}
		writeJSON(w, http.StatusOK, api.ActivationFileAnswer{Success: true, Serial: serial, MachineID: s.eng.MachineID(), InstallationKey: a.InstallationKey(), File: string(b)})
		return nil
	}
}

func (s *Server) activationDelete(w http.ResponseWriter, r *http.Request) error {
	a, serial, err := s.serialBody(w, r)
	if err != nil {
		return err
	}
	if err := a.Delete(r.Context(), serial); err != nil {
		return activationError(err)
	}
	writeJSON(w, http.StatusOK, api.Deleted{Success: true, Serial: serial, Deleted: true})
	return nil
}

// backupRoute serves GET /api/backup when the daemon gave a Backup
// function (docs/backup.md).
func (s *Server) backupRoute() []route {
	return []route{{http.MethodGet, api.PathBackup, roleAdmin, s.backup}}
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	if s.opt.Backup == nil {
		return &httpError{http.StatusServiceUnavailable, "unavailable", "backup is not configured on this daemon"}
	}
	// Build the whole archive first, so a failure is a clean 500 and a
	// client never takes a cut stream for a backup.
	f, err := os.CreateTemp("", "licensehost-backup-*.tar.gz")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := s.opt.Backup(r.Context(), f); err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", `attachment; filename="licensehost-backup.tar.gz"`)
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, f)
	return nil
}
