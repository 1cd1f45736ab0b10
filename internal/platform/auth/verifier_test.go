package auth_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/platform/auth"
)

func TestConfigRefusesToFailOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  auth.Config
		want []string
	}{
		{"nothing set", auth.Config{}, []string{"AUTH_ISSUER is required", "AUTH_AUDIENCE is required"}},
		{"no issuer", auth.Config{Audience: "orderflow"}, []string{"AUTH_ISSUER is required"}},
		{"no audience", auth.Config{Issuer: "https://login.example.com"}, []string{"AUTH_AUDIENCE is required"}},
		{"issuer not a URL", auth.Config{Issuer: "login.example.com", Audience: "orderflow"}, []string{"AUTH_ISSUER must be an absolute https URL"}},
		{"issuer of another scheme", auth.Config{Issuer: "ftp://login.example.com", Audience: "orderflow"}, []string{"AUTH_ISSUER must be an absolute https URL"}},
		{"plain http elsewhere", auth.Config{Issuer: "http://login.example.com", Audience: "orderflow"}, []string{"AUTH_ISSUER must use https"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := auth.New(tc.cfg)
			require.Error(t, err)
			assert.Nil(t, v)
			for _, want := range tc.want {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestConfigAccepts(t *testing.T) {
	t.Parallel()
	for _, issuer := range []string{"https://login.microsoftonline.com/tenant/v2.0", "http://127.0.0.1:8088", "http://localhost:8088", "http://[::1]:8088"} {
		t.Run(issuer, func(t *testing.T) {
			t.Parallel()
			_, err := auth.New(auth.Config{Issuer: issuer, Audience: "orderflow"})
			assert.NoError(t, err)
		})
	}
}

func TestVerifyErrorsTellTheCallersFaultFromTheIssuers(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	p, err := v.Verify(context.Background(), mint(t, ti.issuer(), "c-7", "admin"))
	require.NoError(t, err)
	assert.Equal(t, auth.Principal{Subject: "c-7", Roles: []string{"admin"}}, p)
	assert.True(t, p.HasRole("admin"))
	assert.False(t, p.HasRole("Admin"), "roles are case-sensitive")

	_, err = v.Verify(context.Background(), "x.y.z")
	assert.ErrorIs(t, err, auth.ErrInvalidToken)

	down := newTestIssuer(t)
	down.down.Store(true)
	_, err = down.verifier(t).Verify(context.Background(), mint(t, down.issuer(), "c-7"))
	assert.ErrorIs(t, err, auth.ErrUnavailable)
}

func TestPrincipalTravelsInTheContext(t *testing.T) {
	t.Parallel()
	_, ok := auth.FromContext(context.Background())
	assert.False(t, ok)
	p, ok := auth.FromContext(auth.NewContext(context.Background(), auth.Principal{Subject: "c-1"}))
	assert.True(t, ok)
	assert.Equal(t, "c-1", p.Subject)
}
