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
		{http.MethodPost, api.PathActivationUninstall, roleAdmin, s.activationUninstall},
		{http.MethodPost, api.PathActivationDelete, roleAdmin, s.activationDelete},
		{http.MethodPost, api.PathActivationReceipt, roleAdmin, s.activationReceipt},
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
	writeJSON(w, http.StatusOK, api.InstallAnswer{Success: true, Already: already, Activation: toAPI(info)})
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
		Activations: make([]api.Activation, 0, len(infos))}
	for _, i := range infos {
		out.Activations = append(out.Activations, toAPI(i))
	}
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

func (s *Server) activationUninstall(w http.ResponseWriter, r *http.Request) error {
	a, serial, err := s.serialBody(w, r)
	if err != nil {
		return err
	}
	b, err := a.Uninstall(r.Context(), serial)
	if err != nil {
		return activationError(err)
	}
	writeJSON(w, http.StatusOK, api.ActivationFileAnswer{Success: true, Serial: serial, MachineID: s.eng.MachineID(), InstallationKey: a.InstallationKey(), File: string(b)})
	return nil
}

func (s *Server) activationReceipt(w http.ResponseWriter, r *http.Request) error {
	a, serial, err := s.serialBody(w, r)
	if err != nil {
		return err
	}
	b, err := a.Receipt(r.Context(), serial)
	if err != nil {
		return activationError(err)
	}
	writeJSON(w, http.StatusOK, api.ActivationFileAnswer{Success: true, Serial: serial, MachineID: s.eng.MachineID(), InstallationKey: a.InstallationKey(), File: string(b)})
	return nil
}

func (s *Server) activationDelete(w http.ResponseWriter, r *http.Request) error {
	a, serial, err := s.serialBody(w, r)
	if err != nil {
		return err
	}
	if err := a.Delete(r.Context(), serial); err != nil {
		return activationError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "serial": serial, "deleted": true})
	return nil
}

func toAPI(i activation.Info) api.Activation {
	out := api.Activation{
		Serial: i.Serial, State: i.State, Reason: i.Reason, Kind: i.Kind, Product: i.Product, LicenseType: i.LicenseType,
		LicenseTypeDisplayName: i.LicenseTypeDisplayName, LicenseKeyHint: i.LicenseKeyHint, ExpiresAt: i.ExpiresAt,
		DaysLeft: i.DaysLeft, CustomField1: i.CustomField1, CustomField2: i.CustomField2, CustomField3: i.CustomField3,
		Uninstallable: i.Uninstallable, Migratable: i.Migratable, Kid: i.Kid, MachineID: i.MachineID,
		IssuedAt: i.IssuedAt, InstalledAt: i.InstalledAt, Features: make([]api.ActivationFeature, 0, len(i.Features)),
	}
	for _, f := range i.Features {
		out.Features = append(out.Features, api.ActivationFeature{Name: f.Name, ExpiresAt: f.ExpiresAt})
	}
	return out
}

// activationPaths adds the offline-activation routes to the OpenAPI paths.
func activationPaths(paths map[string]any, resp func(string, map[string]any) map[string]any, std func(map[string]any) map[string]any,
	ref func(string) map[string]any, jsonBody func(map[string]any) map[string]any, obj func(map[string]any, ...string) map[string]any) {
	str := map[string]any{"type": "string"}
	fileAnswer := obj(map[string]any{"success": map[string]any{"type": "boolean"}, "serial": str, "machineId": str, "installationKey": str, "file": str})
	serialBody := jsonBody(obj(map[string]any{"serial": str}, "serial"))
	refusals := func(extra map[string]any) map[string]any {
		m := map[string]any{"400": resp("bad input, or a bad file (too_large, not_armored, damaged, bad_base64, bad_json, unknown_version)", ref("Error")),
			"403": resp("refused: untrusted_key, wrong_machine, already_uninstalled, expired, issued_in_future; or the app token is read-only", ref("Error"))}
		for k, v := range extra {
			m[k] = v
		}
		return std(m)
	}
	paths[api.PathActivationRequest] = map[string]any{"post": map[string]any{
		"summary":     "Write a request file for offline activation (signed by the installation key)",
		"requestBody": jsonBody(obj(map[string]any{"licenseKey": str})),
		"responses":   refusals(map[string]any{"200": resp("the request file", fileAnswer)})}}
	paths[api.PathActivationInstall] = map[string]any{"post": map[string]any{
		"summary":     "Install an activation file; the body is the file itself (at most 64 KiB)",
		"requestBody": map[string]any{"content": map[string]any{"text/plain": map[string]any{"schema": str}}},
		"responses": refusals(map[string]any{"200": resp("installed (already: it was before)", obj(map[string]any{
			"success": map[string]any{"type": "boolean"}, "already": map[string]any{"type": "boolean"}, "activation": ref("Activation")}))})}}
	paths[api.PathActivationUninstall] = map[string]any{"post": map[string]any{
		"summary": "Uninstall a formal, uninstallable license in force; answers the uninstall receipt", "requestBody": serialBody,
		"responses": refusals(map[string]any{"200": resp("the receipt", fileAnswer), "404": resp("not installed", ref("Error")),
			"409": resp("not uninstallable, or expired (delete it)", ref("Error"))})}}
	paths[api.PathActivationReceipt] = map[string]any{"post": map[string]any{
		"summary": "The uninstall receipt of a serial uninstalled here, again", "requestBody": serialBody,
		"responses": refusals(map[string]any{"200": resp("the receipt", fileAnswer), "404": resp("never uninstalled here", ref("Error"))})}}
	paths[api.PathActivationDelete] = map[string]any{"post": map[string]any{
		"summary": "Delete an expired or untrusted activation file", "requestBody": serialBody,
		"responses": refusals(map[string]any{"200": resp("deleted", obj(map[string]any{"success": map[string]any{"type": "boolean"}, "serial": str, "deleted": map[string]any{"type": "boolean"}})),
			"404": resp("not installed", ref("Error")), "409": resp("in force: uninstall it instead", ref("Error"))})}}
	paths[api.PathBackup] = map[string]any{"get": map[string]any{
		"summary": "A consistent backup of the whole local state (docs/backup.md); restore it with licensehost restore",
		"responses": std(map[string]any{"200": map[string]any{"description": "the backup (gzip'd tar)",
			"content": map[string]any{"application/gzip": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}},
			"403": resp("the app token is read-only", ref("Error"))})}}
	paths[api.PathActivations] = map[string]any{"get": map[string]any{
		"summary": "Installed activation files, the installation key and the trusted kids",
		"responses": std(map[string]any{"200": resp("installed files", obj(map[string]any{"machineId": str, "installationKey": str,
			"trustedKids": map[string]any{"type": "array", "items": str},
			"activations": map[string]any{"type": "array", "items": ref("Activation")}}))})}}
}

// activationSchema is the Activation schema of the OpenAPI document.
func activationSchema(obj func(map[string]any, ...string) map[string]any) map[string]any {
	str := map[string]any{"type": "string"}
	date := map[string]any{"type": "string", "format": "date-time"}
	nullableDate := map[string]any{"type": "string", "format": "date-time", "nullable": true}
	boolean := map[string]any{"type": "boolean"}
	return obj(map[string]any{
		"serial": str, "state": map[string]any{"type": "string", "enum": []any{"in_force", "expired", "untrusted", "wrong_machine", "damaged"}},
		"reason": str, "kind": map[string]any{"type": "string", "enum": []any{"temporary", "formal"}}, "product": str,
		"licenseType": str, "licenseTypeDisplayName": str, "licenseKeyHint": str,
		"features":  map[string]any{"type": "array", "items": obj(map[string]any{"name": str, "expiresAt": nullableDate})},
		"expiresAt": nullableDate, "daysLeft": map[string]any{"type": "number"},
		"customField1": str, "customField2": str, "customField3": str, "uninstallable": boolean, "migratable": boolean,
		"kid": str, "machineId": str, "issuedAt": date, "installedAt": date,
	})
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
