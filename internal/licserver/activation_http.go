package licserver

import (
	"context"
	"net/http"
	"net/url"

	"github.com/licensehost/licensehost/internal/actfile"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// Admin API routes of activation files and signing keys.
const (
	PathAdminActivations = "/api/admin/activations"
	PathAdminRelease     = "/api/admin/activations/release"
	PathAdminSigningKeys = "/api/admin/signing-keys"
)

// maxFileBody bounds the JSON bodies that carry a file (a file is at most
// actfile.MaxFileSize; JSON escaping can grow it).
const maxFileBody = 4 * actfile.MaxFileSize

// IssueActivationRequest is the body of POST /api/admin/activations.
type IssueActivationRequest struct {
	Request    string `json:"request"`              // the armored request file
	LicenseKey string `json:"licenseKey,omitempty"` // default: the key in the request
}

// ReleaseActivationRequest is the body of POST /api/admin/activations/release.
type ReleaseActivationRequest struct {
	Receipt string `json:"receipt"` // the armored uninstall receipt
}

// RotateRequest is the body of POST /api/admin/signing-keys.
type RotateRequest struct {
	Kid string `json:"kid,omitempty"`
}

func (h *handler) activationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathAdminActivations, h.auth(h.issueActivation))
	mux.HandleFunc("GET "+PathAdminActivations, h.auth(h.listActivations))
	mux.HandleFunc("POST "+PathAdminRelease, h.auth(h.releaseActivation))
	mux.HandleFunc("GET "+PathAdminSigningKeys, h.auth(h.signingKeys))
	mux.HandleFunc("POST "+PathAdminSigningKeys, h.auth(h.rotateKey))
}

func decodeFileBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeLimited(w, r, v, maxFileBody)
}

func (h *handler) issueActivation(w http.ResponseWriter, r *http.Request) {
	var req IssueActivationRequest
	if !decodeFileBody(w, r, &req) {
		return
	}
	out, err := h.act.IssueActivation(r.Context(), []byte(req.Request), req.LicenseKey)
	h.reply(w, http.StatusCreated, out, err)
}

func (h *handler) listActivations(w http.ResponseWriter, r *http.Request) {
	out, err := h.act.ListActivations(r.Context(), r.URL.Query().Get("key"))
	h.reply(w, http.StatusOK, out, err)
}

func (h *handler) releaseActivation(w http.ResponseWriter, r *http.Request) {
	var req ReleaseActivationRequest
	if !decodeFileBody(w, r, &req) {
		return
	}
	out, err := h.act.ReleaseActivation(r.Context(), []byte(req.Receipt))
	h.reply(w, http.StatusOK, out, err)
}

func (h *handler) signingKeys(w http.ResponseWriter, r *http.Request) {
	out, err := h.act.SigningKeys(r.Context())
	h.reply(w, http.StatusOK, out, err)
}

func (h *handler) rotateKey(w http.ResponseWriter, r *http.Request) {
	var req RotateRequest
	if !decodeAdmin(w, r, &req) {
		return
	}
	out, err := h.act.RotateSigningKey(r.Context(), req.Kid)
	h.reply(w, http.StatusCreated, out, err)
}

// --- the same over the admin HTTP API ---

var _ ActivationAdmin = (*AdminClient)(nil)

func (c *AdminClient) IssueActivation(ctx context.Context, request []byte, licenseKey string) (IssuedFile, error) {
	var out IssuedFile
	err := c.do(ctx, http.MethodPost, PathAdminActivations, IssueActivationRequest{Request: string(request), LicenseKey: licenseKey}, &out)
	return out, err
}

func (c *AdminClient) ReleaseActivation(ctx context.Context, receipt []byte) (Released, error) {
	var out Released
	err := c.do(ctx, http.MethodPost, PathAdminRelease, ReleaseActivationRequest{Receipt: string(receipt)}, &out)
	return out, err
}

func (c *AdminClient) ListActivations(ctx context.Context, key string) ([]store.IssuedActivation, error) {
	var out []store.IssuedActivation
	err := c.do(ctx, http.MethodGet, PathAdminActivations+"?"+url.Values{"key": {key}}.Encode(), nil, &out)
	return out, err
}

func (c *AdminClient) SigningKeys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	err := c.do(ctx, http.MethodGet, PathAdminSigningKeys, nil, &out)
	return out, err
}

func (c *AdminClient) RotateSigningKey(ctx context.Context, kid string) (KeyInfo, error) {
	var out KeyInfo
	err := c.do(ctx, http.MethodPost, PathAdminSigningKeys, RotateRequest{Kid: kid}, &out)
	return out, err
}
