// Package store is licensed's Badger-backed store: license types, licenses
// with their device bindings, server metadata and the audit log.
//
// It is the only badger importer of the licensed binary. (The host's own
// store lives in storage/; licensed is a separate product with a separate
// data directory, see docs/licensed.md.) Every write transaction is durable
// (SyncWrites) before it returns.
package store

import "time"

// Status is a license's administrative status.
type Status string

// License statuses. Revoked is final.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusRevoked   Status = "revoked"
)

// LicenseType is a kind of license with a display name and the defaults a
// new key of the type gets.
type LicenseType struct {
	Name         string        `json:"name"`
	DisplayName  string        `json:"displayName"`
	MaxDevices   int64         `json:"maxDevices"` // 0 = unlimited
	MaxUses      int64         `json:"maxUses"`    // 0 = unlimited
	CustomField1 string        `json:"customField1"`
	CustomField2 string        `json:"customField2"`
	CustomField3 string        `json:"customField3"`
	Validity     time.Duration `json:"validity"` // default lifetime of a new key; 0 = never expires
	CreatedAt    time.Time     `json:"createdAt"`
	// Kind, Features, Uninstallable and Migratable are what an activation
	// file of this type grants (docs/activation-files.md). Kind is
	// "temporary" or "formal" ("" reads as formal); a temporary type is
	// never uninstallable nor migratable.
	Kind          string   `json:"kind,omitempty"`
	Features      []string `json:"features,omitempty"`
	Uninstallable bool     `json:"uninstallable,omitempty"`
	Migratable    bool     `json:"migratable,omitempty"`
}

// Device is one machine bound to a license.
type Device struct {
	MachineID   string    `json:"machineId"`
	DeviceInfo  string    `json:"deviceInfo,omitempty"`
	ActivatedAt time.Time `json:"activatedAt"`
	LastSeenAt  time.Time `json:"lastSeenAt"`
	LastIP      string    `json:"lastIP,omitempty"`
}

// Released is a machine whose binding was moved away by switch-device.
type Released struct {
	MachineID string    `json:"machineId"`
	MovedTo   string    `json:"movedTo"`
	At        time.Time `json:"at"`
}

// License is one license key and its state.
type License struct {
	Key          string     `json:"key"`
	Type         string     `json:"type"`
	Status       Status     `json:"status"`
	MaxDevices   int64      `json:"maxDevices"` // 0 = unlimited
	MaxUses      int64      `json:"maxUses"`    // 0 = unlimited
	CurrentUses  int64      `json:"currentUses"`
	CustomField1 string     `json:"customField1"`
	CustomField2 string     `json:"customField2"`
	CustomField3 string     `json:"customField3"`
	ExpiresAt    time.Time  `json:"expiresAt,omitzero"` // zero = never
	Note         string     `json:"note,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	Devices      []Device   `json:"devices,omitempty"`
	Released     []Released `json:"released,omitempty"` // newest last, bounded
}

// Device returns the index of machineID's binding, or -1.
func (l *License) Device(machineID string) int {
	for i, d := range l.Devices {
		if d.MachineID == machineID {
			return i
		}
	}
	return -1
}

// ReleasedIndex returns the index of machineID in Released, or -1.
func (l *License) ReleasedIndex(machineID string) int {
	for i, r := range l.Released {
		if r.MachineID == machineID {
			return i
		}
	}
	return -1
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	Seq       uint64    `json:"seq"` // assigned by the store
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`  // "cli", "admin-api", "client <ip>"
	Action    string    `json:"action"` // verify, switch-device, key.issue, key.suspend, …
	Key       string    `json:"key,omitempty"`
	MachineID string    `json:"machineId,omitempty"`
	Outcome   string    `json:"outcome"` // "ok" or the rejection message
	HTTP      int       `json:"http,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	// Client marks client (not admin) actions; those expire after the
	// store's ClientAuditRetention, admin actions are kept.
	Client bool `json:"client,omitempty"`
}
