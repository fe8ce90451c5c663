package api

import "time"

// Routes of offline activation and backup (docs/activation-files.md,
// docs/backup.md).
const (
	PathActivationRequest   = "/api/activation/request"
	PathActivationInstall   = "/api/activation/install"
	PathActivationUninstall = "/api/activation/uninstall"
	PathActivationDelete    = "/api/activation/delete"
	PathActivationReceipt   = "/api/activation/receipt"
	PathActivations         = "/api/activations"
	PathBackup              = "/api/backup"
)

// ActivationRequestBody is the body of POST /api/activation/request.
type ActivationRequestBody struct {
	LicenseKey string `json:"licenseKey,omitempty"`
}

// ActivationFileAnswer carries a file the host wrote: a request file
// (POST request) or an uninstall receipt (POST uninstall, POST receipt).
type ActivationFileAnswer struct {
	Success         bool   `json:"success"`
	Serial          string `json:"serial,omitempty"`
	MachineID       string `json:"machineId,omitempty"`
	InstallationKey string `json:"installationKey,omitempty"`
	File            string `json:"file"` // the armored file
}

// SerialBody names an installed file (uninstall, delete, receipt).
type SerialBody struct {
	Serial string `json:"serial"`
}

// ActivationFeature is one feature of an installed file.
type ActivationFeature struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expiresAt"` // null: the file's expiresAt
}

// Activation describes an installed activation file.
type Activation struct {
	Serial string `json:"serial"`
	// State: in_force, expired, untrusted (its kid is no longer trusted),
	// wrong_machine (restored on another machine) or damaged.
	State                  string              `json:"state" openapi:"enum=in_force|expired|untrusted|wrong_machine|damaged"`
	Reason                 string              `json:"reason,omitempty"`
	Kind                   string              `json:"kind" openapi:"enum=temporary|formal"`
	Product                string              `json:"product,omitempty"`
	LicenseType            string              `json:"licenseType"`
	LicenseTypeDisplayName string              `json:"licenseTypeDisplayName,omitempty"`
	LicenseKeyHint         string              `json:"licenseKeyHint"`
	Features               []ActivationFeature `json:"features"`
	ExpiresAt              *time.Time          `json:"expiresAt"` // null: never
	DaysLeft               *float64            `json:"daysLeft,omitempty"`
	CustomField1           string              `json:"customField1"`
	CustomField2           string              `json:"customField2"`
	CustomField3           string              `json:"customField3"`
	Uninstallable          bool                `json:"uninstallable"`
	Migratable             bool                `json:"migratable"`
	Kid                    string              `json:"kid"`
	MachineID              string              `json:"machineId"`
	IssuedAt               time.Time           `json:"issuedAt"`
	InstalledAt            time.Time           `json:"installedAt"`
}

// InstallAnswer is the answer of POST /api/activation/install.
type InstallAnswer struct {
	Success bool `json:"success"`
	// Already is true when the same file was installed before (nothing
	// changed).
	Already    bool       `json:"already"`
	Activation Activation `json:"activation"`
}

// Activations is the answer of GET /api/activations.
type Activations struct {
	MachineID       string       `json:"machineId"`
	InstallationKey string       `json:"installationKey"`
	TrustedKids     []string     `json:"trustedKids" openapi:"nullable"`
	Activations     []Activation `json:"activations"`
}
