package hostclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/licensehost/licensehost/engine"
	"github.com/licensehost/licensehost/engine/enginetest"
	"github.com/licensehost/licensehost/hostclient"
	"github.com/licensehost/licensehost/internal/server"
)

// An application checks the feature a new piece of work needs where the
// work is created, and refuses the work when the answer is no
// (docs/features.md). Here the host is the real API handler with a product
// that pre-authorizes data.source only.
func ExampleClient_CheckFeature() {
	eng, _ := engine.New(engine.Options{Store: enginetest.NewMemStore(), Remote: &enginetest.Remote{},
		Clock: enginetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Config: engine.DefaultConfig(),
		MachineID: "server_0123456789abcdef",
		Product: engine.Product{Name: "Integration Platform",
			Features: []engine.Feature{{Name: "data.source"}, {Name: "data.cdc"}},
			Preauth:  180 * 24 * time.Hour, PreauthFeatures: []string{"data.source"}}})
	h, _ := server.New(eng, server.Options{AdminToken: "admin", AppToken: "app"})
	srv := httptest.NewServer(h)
	defer srv.Close()

	c, _ := hostclient.New(srv.URL, "app") // the read-only app token may check
	for _, feature := range []string{"data.source", "data.cdc"} {
		res, err := c.CheckFeature(context.Background(), feature)
		switch {
		case err != nil:
			fmt.Println("cannot ask the license host:", err)
		case res.Allowed:
			fmt.Printf("%s: start the job (%s license, %.0f days left)\n", feature, res.Kind, *res.DaysLeft)
		default:
			fmt.Printf("%s: refuse the job: %s\n", feature, res.Reason)
		}
	}
	// Output:
	// data.source: start the job (preauth license, 180 days left)
	// data.cdc: refuse the job: not_licensed
}
