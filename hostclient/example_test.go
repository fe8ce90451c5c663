package hostclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/licensehost/licensehost/api"
	"github.com/licensehost/licensehost/hostclient"
)

// A rejected activation carries the license server's answer.
func ExampleActionError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(api.ActionResponse{
			Status: "community", Message: "密钥不存在", Definitive: true,
			RemoteError: &api.RemoteError{HTTPStatus: 404, Message: "密钥不存在"},
		})
	}))
	defer srv.Close()

	c, _ := hostclient.New(srv.URL, "token")
	_, err := c.Activate(context.Background(), "my-unknown-key")
	var ae *hostclient.ActionError
	if errors.As(err, &ae) {
		fmt.Println(errors.Is(err, hostclient.ErrRejected), ae.RemoteStatus(), ae.Response.Message)
	}
	fmt.Println(err)
	// Output:
	// true 404 密钥不存在
	// activate failed (422): 密钥不存在 (license server: 404)
}
