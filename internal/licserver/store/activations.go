package store

import "time"

// pActivation prefixes issued activation files, by serial.
const pActivation = "x/"

// IssuedActivation is one activation file licensed issued: the binding it
// made and the exact file, so the same file can be handed out again
// (recovering a lost file) and a receipt can be checked against it.
type IssuedActivation struct {
	Serial          string    `json:"serial"`
	Key             string    `json:"key"`
	MachineID       string    `json:"machineId"`
	InstallationKey string    `json:"installationKey"`
	Kind            string    `json:"kind"`
	Uninstallable   bool      `json:"uninstallable"`
	Migratable      bool      `json:"migratable"`
	Kid             string    `json:"kid"`
	IssuedAt        time.Time `json:"issuedAt"`
	ExpiresAt       time.Time `json:"expiresAt,omitzero"`
	File            string    `json:"file"` // the armored file
	// ReleasedAt is set when an uninstall receipt was accepted.
	ReleasedAt time.Time `json:"releasedAt,omitzero"`
}

// Activation returns the issued file with serial; ErrNotFound when none.
func (tx *Tx) Activation(serial string) (IssuedActivation, error) {
	var a IssuedActivation
	err := tx.get(pActivation+serial, &a)
	return a, err
}

// PutActivation writes a (creating or replacing it).
func (tx *Tx) PutActivation(a IssuedActivation) error { return tx.put(pActivation+a.Serial, a) }

// Activations calls fn for every issued file in serial order until it
// returns false.
func (tx *Tx) Activations(fn func(IssuedActivation) bool) error { return scan(tx, pActivation, fn) }
