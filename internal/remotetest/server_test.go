package remotetest_test

import (
	"encoding/json"
	"github.com/licensehost/licensehost/internal/licapi"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/licensehost/licensehost/internal/remotetest"
)

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestVerifyBindingAndSwitch(t *testing.T) {
	srv := remotetest.New(t)
	const key = "KEY-0001-ABCD-EFGH"
	srv.AddLicense(key, 1, map[string]any{"customField1": 500, "customField3": remotetest.Missing})
	verify := srv.URL() + licapi.PathVerify
	sw := srv.URL() + licapi.PathSwitchDevice

	st, m := post(t, verify, `{"licenseKey":"`+key+`","machineId":"server_a","deviceInfo":"x"}`)
	if st != 200 || m["success"] != true {
		t.Fatalf("first verify: %d %v", st, m)
	}
	lic := m["license"].(map[string]any)
	if lic["customField1"] != float64(500) || lic["customField2"] != "100" {
		t.Errorf("license fields: %v", lic)
	}
	if _, ok := lic["customField3"]; ok {
		t.Errorf("Missing field sent: %v", lic)
	}
	if st, m = post(t, verify, `{"licenseKey":"`+key+`","machineId":"server_b","deviceInfo":"x"}`); st != 403 || m["message"] != licapi.MsgDeviceLimit {
		t.Fatalf("second machine: %d %v", st, m)
	}
	if st, m = post(t, verify, `{"licenseKey":"nope","machineId":"server_a","deviceInfo":"x"}`); st != 404 || m["message"] != licapi.MsgNotFound {
		t.Fatalf("unknown key: %d %v", st, m)
	}
	if st, m = post(t, sw, `{"licenseKey":"`+key+`","oldMachineId":"server_x","newMachineId":"server_b","reason":"r"}`); st != 403 || m["message"] != licapi.MsgOldNotBound {
		t.Fatalf("switch from unbound: %d %v", st, m)
	}
	if st, m = post(t, sw, `{"licenseKey":"`+key+`","oldMachineId":"server_a","newMachineId":"server_b","reason":"r"}`); st != 200 || m["success"] != true {
		t.Fatalf("switch: %d %v", st, m)
	}
	if got := srv.Devices(key); len(got) != 1 || got[0] != "server_b" {
		t.Fatalf("devices after switch: %v", got)
	}
	srv.SetSuspended(key, true)
	if st, m = post(t, verify, `{"licenseKey":"`+key+`","machineId":"server_b","deviceInfo":"x"}`); st != 403 || m["message"] != licapi.MsgSuspended {
		t.Fatalf("suspended: %d %v", st, m)
	}
	if n := srv.Count(licapi.PathVerify); n != 4 {
		t.Errorf("verify count = %d, want 4", n)
	}
	if n := srv.Count(""); n != 6 {
		t.Errorf("total count = %d, want 6", n)
	}
	if r := srv.Requests()[0]; r.Verify == nil || r.Verify.MachineID != "server_a" || r.Fields["deviceInfo"] != "x" {
		t.Errorf("logged request: %+v", r)
	}
}

func TestFailNextAndDown(t *testing.T) {
	srv := remotetest.New(t)
	srv.AddLicense("KEY-0002-ABCD-EFGH", 0, nil)
	body := `{"licenseKey":"KEY-0002-ABCD-EFGH","machineId":"m","deviceInfo":"x"}`
	srv.FailNext(1, remotetest.Status5xx(503))
	if st, _ := post(t, srv.URL()+licapi.PathVerify, body); st != 503 {
		t.Fatalf("faulted status = %d", st)
	}
	if st, _ := post(t, srv.URL()+licapi.PathVerify, body); st != 200 {
		t.Fatalf("after FailNext status = %d", st)
	}
	if r := srv.Requests(); r[0].Fault != "Status5xx(503)" || r[1].Fault != "" {
		t.Fatalf("faults logged: %q %q", r[0].Fault, r[1].Fault)
	}

	srv.SetDown(true)
	if _, err := http.Post(srv.URL()+licapi.PathVerify, "application/json", strings.NewReader(body)); err == nil {
		t.Fatal("request to a down server succeeded")
	}
	srv.SetDown(false)
	if st, _ := post(t, srv.URL()+licapi.PathVerify, body); st != 200 {
		t.Fatalf("after SetDown(false) status = %d", st)
	}
}
