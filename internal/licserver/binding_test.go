package licserver

import (
	"testing"
	"time"

	"github.com/licensehost/licensehost/internal/licapi"
	"github.com/licensehost/licensehost/internal/licserver/store"
)

// The binding rules as pure functions: every refusal, and what a success
// changes, without a store or a server.
func TestBindDevice(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	const a, b, c = "server_aaaaaaaaaaaaaaaa", "server_bbbbbbbbbbbbbbbb", "server_cccccccccccccccc"
	verify := func(m, info string) licapi.VerifyRequest {
		return licapi.VerifyRequest{LicenseKey: "K", MachineID: m, DeviceInfo: info + m}
	}
	deny := func(l store.License) *Answer { x := fail(429, licapi.MsgRateLimited, "rate_limited"); return &x }
	for _, tc := range []struct {
		name    string
		lic     store.License
		req     licapi.VerifyRequest
		admit   Admit
		details string // "" = bound
		devices int
		uses    int64
	}{
		{"new machine", store.License{MaxDevices: 1}, verify(a, licapi.DeviceInfoActivation), nil, "", 1, 1},
		{"bound machine again", store.License{MaxDevices: 1, CurrentUses: 1, Devices: []store.Device{{MachineID: a}}},
			verify(a, licapi.DeviceInfoHeartbeat), deny, "", 1, 1},
		{"device limit", store.License{MaxDevices: 1, Devices: []store.Device{{MachineID: a}}}, verify(b, licapi.DeviceInfoActivation), nil, "device_limit_reached", 1, 0},
		{"use limit", store.License{MaxUses: 2, CurrentUses: 2}, verify(b, licapi.DeviceInfoActivation), nil, "use_limit_reached", 0, 2},
		{"churn", store.License{}, verify(b, licapi.DeviceInfoActivation), deny, "rate_limited", 0, 0},
		{"switched away, heartbeat", store.License{Devices: []store.Device{{MachineID: b}}, Released: []store.Released{{MachineID: a, MovedTo: b}}},
			verify(a, licapi.DeviceInfoHeartbeat), nil, "device_switched", 1, 0},
		{"switched away, new activation", store.License{Devices: []store.Device{{MachineID: b}}, Released: []store.Released{{MachineID: a, MovedTo: b}}},
			verify(a, licapi.DeviceInfoActivation), nil, "", 2, 1},
		{"unlimited", store.License{Devices: []store.Device{{MachineID: a}, {MachineID: b}}}, verify(c, licapi.DeviceInfoActivation), nil, "", 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.lic
			i, refusal, _ := BindDevice(&l, tc.req, now, tc.admit)
			switch {
			case tc.details == "" && (refusal != nil || i < 0 || l.Devices[i].MachineID != tc.req.MachineID || !l.Devices[i].LastSeenAt.Equal(now)):
				t.Fatalf("want bound: %d %+v %+v", i, refusal, l.Devices)
			case tc.details != "" && (refusal == nil || refusal.DetailsCode() != tc.details || refusal.Status/100 != 4 || i != -1):
				t.Fatalf("want %s: %d %+v", tc.details, i, refusal)
			}
			if len(l.Devices) != tc.devices || l.CurrentUses != tc.uses {
				t.Fatalf("devices %d uses %d, want %d %d", len(l.Devices), l.CurrentUses, tc.devices, tc.uses)
			}
			if tc.details == "" && l.ReleasedIndex(tc.req.MachineID) >= 0 {
				t.Fatal("a bound machine is still remembered as switched away")
			}
		})
	}
}

func TestMoveDevice(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	const a, b = "server_aaaaaaaaaaaaaaaa", "server_bbbbbbbbbbbbbbbb"
	req := licapi.SwitchRequest{LicenseKey: "K", OldMachineID: a, NewMachineID: b, Reason: "new disk"}
	l := store.License{MaxDevices: 1, Devices: []store.Device{{MachineID: a, ActivatedAt: now.Add(-time.Hour)}}}

	deny := func(store.License) *Answer { x := fail(429, licapi.MsgRateLimited, "rate_limited"); return &x }
	if _, _, refusal := MoveDevice(&l, req, now, deny); refusal == nil || refusal.DetailsCode() != "rate_limited" || l.Device(a) != 0 {
		t.Fatalf("churn: %+v %+v", refusal, l.Devices)
	}
	i, changed, refusal := MoveDevice(&l, req, now, nil)
	if refusal != nil || !changed || l.Devices[i].MachineID != b || len(l.Devices) != 1 || !l.Devices[i].ActivatedAt.Equal(now) {
		t.Fatalf("switch: %d %v %+v %+v", i, changed, refusal, l.Devices)
	}
	if r := l.ReleasedIndex(a); r < 0 || l.Released[r].MovedTo != b {
		t.Fatalf("released %+v", l.Released)
	}
	// A retry after a lost answer: success again, nothing changed.
	before := len(l.Released)
	if i, changed, refusal := MoveDevice(&l, req, now.Add(time.Minute), deny); refusal != nil || changed || l.Devices[i].MachineID != b || len(l.Released) != before {
		t.Fatalf("repeat: %d %v %+v", i, changed, refusal)
	}
	// The old machine is no longer bound: a switch from it to a third is refused.
	other := licapi.SwitchRequest{LicenseKey: "K", OldMachineID: a, NewMachineID: "server_cccccccccccccccc"}
	if _, _, refusal := MoveDevice(&l, other, now, nil); refusal == nil || refusal.DetailsCode() != "old_device_not_bound" {
		t.Fatalf("from an unbound machine: %+v", refusal)
	}
	// At most maxReleased switched-away machines are remembered.
	for n := range 2 * maxReleased {
		from, to := l.Devices[0].MachineID, "m"+string(rune('A'+n%26))+time.Duration(n).String()
		if _, _, refusal := MoveDevice(&l, licapi.SwitchRequest{OldMachineID: from, NewMachineID: to}, now, nil); refusal != nil {
			t.Fatal(refusal)
		}
	}
	if len(l.Released) != maxReleased {
		t.Fatalf("released %d, want %d", len(l.Released), maxReleased)
	}
}

func TestUsable(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lic     store.License
		details string
	}{
		{store.License{Status: store.StatusActive}, ""},
		{store.License{Status: store.StatusActive, ExpiresAt: now.Add(time.Second)}, ""},
		{store.License{Status: store.StatusActive, ExpiresAt: now}, "license_expired"},
		{store.License{Status: store.StatusSuspended}, "license_suspended"},
		{store.License{Status: store.StatusRevoked}, "license_revoked"},
		{store.License{Status: "odd"}, "license_not_active"},
	} {
		a := Usable(tc.lic, now)
		if (a == nil) != (tc.details == "") || (a != nil && (a.DetailsCode() != tc.details || a.Status != 403)) {
			t.Errorf("%+v: %+v, want %q", tc.lic, a, tc.details)
		}
	}
}
