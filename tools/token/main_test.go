package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/auth/authtest"
)

// runningIssuer serves the development issuer as make run does, and returns its URL and a verifier trusting it.
func runningIssuer(t *testing.T) (string, *auth.Verifier) {
	t.Helper()
	iss := authtest.New(t)
	return iss.URL(), iss.Verifier
}

func TestPrintsATokenTheServicesAccept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want auth.Principal
	}{
		{"customer", []string{"-sub", "c-42"}, auth.Principal{Subject: "c-42"}},
		{"operator", []string{"-sub", "ops-1", "-role", "admin"}, auth.Principal{Subject: "ops-1", Roles: []string{"admin"}}},
		{"several roles, short ttl", []string{"-sub", "ops-2", "-role", "admin", "-role", "support", "-ttl", "5m"},
			auth.Principal{Subject: "ops-2", Roles: []string{"admin", "support"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, v := runningIssuer(t)
			var out bytes.Buffer
			require.NoError(t, cli(context.Background(), append(tc.args, "-issuer", url), &out))
			token, found := strings.CutSuffix(out.String(), "\n")
			require.True(t, found, "one line, for $(go run ./tools/token …)")
			p, err := v.Verify(context.Background(), token)
			require.NoError(t, err)
			assert.Equal(t, tc.want, p)
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	url, _ := runningIssuer(t)
	// A port nothing listens on: taken, then released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	notAnIssuer := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notAnIssuer.Close)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subject", []string{"-issuer", url}, "-sub is required"},
		{"stray argument", []string{"-sub", "c-1", "-issuer", url, "admin"}, "unexpected arguments"},
		{"issuer not running", []string{"-sub", "c-1", "-issuer", closed}, "start the system with make run first"},
		{"not the issuer", []string{"-sub", "c-1", "-issuer", notAnIssuer.URL}, "did not answer like the development issuer"},
		{"refused", []string{"-sub", "c-1", "-ttl", "48h", "-issuer", url}, "the issuer refused: ttl must be between"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := cli(context.Background(), tc.args, &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, out.String(), "nothing that looks like a token")
		})
	}
}
