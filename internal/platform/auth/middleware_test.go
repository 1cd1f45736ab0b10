package auth_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/devissuer/issuer"
	"orderflow/internal/platform/auth"
)

func TestRequire(t *testing.T) {
	t.Parallel()
	const (
		missing   = `Bearer`
		invalid   = `Bearer error="invalid_token"`
		forbidden = `Bearer error="insufficient_scope"`
	)
	now := time.Now()
	tests := []struct {
		name string
		path string
		// header builds the Authorization header; empty means none.
		header    func(t *testing.T, ti *testIssuer) string
		status    int
		principal auth.Principal
		detail    string
		challenge string
		// reason is part of the logged error, which says why a token was refused.
		reason string
	}{
		{name: "valid token", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string { return "Bearer " + mint(t, ti.issuer(), "c-42") },
			status: http.StatusOK, principal: auth.Principal{Subject: "c-42"}},
		{name: "scheme is case-insensitive", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string { return "bearer " + mint(t, ti.issuer(), "c-42") },
			status: http.StatusOK, principal: auth.Principal{Subject: "c-42"}},
		{name: "one of several audiences", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"aud": []string{"billing", audience}})
			},
			status: http.StatusOK, principal: auth.Principal{Subject: "c-42"}},
		{name: "expired within the clock skew", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"exp": now.Add(-auth.ClockSkew / 3).Unix()})
			},
			status: http.StatusOK, principal: auth.Principal{Subject: "c-42"}},
		{name: "admin on the admin route", path: "/admin",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + mint(t, ti.issuer(), "ops-1", "support", "admin")
			},
			status: http.StatusOK, principal: auth.Principal{Subject: "ops-1", Roles: []string{"support", "admin"}}},
		{name: "role claim as a single string", path: "/admin",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"roles": "admin"})
			},
			status: http.StatusOK, principal: auth.Principal{Subject: "c-42", Roles: []string{"admin"}}},

		{name: "missing header", path: "/me",
			header: func(*testing.T, *testIssuer) string { return "" },
			status: http.StatusUnauthorized, detail: auth.DetailMissing, challenge: missing},
		{name: "other scheme", path: "/me",
			header: func(*testing.T, *testIssuer) string { return "Basic YWxpY2U6c2VjcmV0" },
			status: http.StatusUnauthorized, detail: auth.DetailMissing, challenge: missing},
		{name: "bearer without a token", path: "/me",
			header: func(*testing.T, *testIssuer) string { return "Bearer   " },
			status: http.StatusUnauthorized, detail: auth.DetailMissing, challenge: missing},
		{name: "malformed token", path: "/me",
			header: func(*testing.T, *testIssuer) string { return "Bearer not-a-jwt-at-all" },
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "compact JWS format must have three parts"},
		{name: "tampered payload", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				parts := strings.Split(mint(t, ti.issuer(), "c-42"), ".")
				parts[1] = strings.Split(mint(t, ti.issuer(), "c-43", "admin"), ".")[1]
				return "Bearer " + strings.Join(parts, ".")
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "verifies the signature"},
		{name: "expired", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"iat": now.Add(-2 * time.Hour).Unix(), "nbf": nil, "exp": now.Add(-2 * auth.ClockSkew).Unix()})
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "token is expired (exp)"},
		{name: "without exp", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"exp": nil})
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "no exp claim"},
		{name: "not yet valid", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"iat": nil, "nbf": now.Add(2 * auth.ClockSkew).Unix()})
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "token not valid yet (nbf)"},
		{name: "wrong issuer", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"iss": "https://login.example.com"})
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "issued by a different provider"},
		{name: "wrong audience", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"aud": "billing"})
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "expected audience"},
		{name: "without subject", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"sub": nil})
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "no sub claim"},
		{name: "role claim of the wrong type", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				return "Bearer " + sign(t, ti.issuer(), map[string]any{"roles": map[string]bool{"admin": true}})
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "neither a string nor an array of strings"},
		{name: "alg none", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string { return "Bearer " + unsigned(t, ti.issuer()) },
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: `unexpected signature algorithm "none"`},
		{name: "HS256 keyed with the public key", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string { return "Bearer " + hmacWithPublicKey(t, ti) },
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: `unexpected signature algorithm "HS256"`},
		{name: "unknown kid", path: "/me",
			header: func(t *testing.T, ti *testIssuer) string {
				stranger, err := issuer.New(ti.url, audience)
				require.NoError(t, err)
				return "Bearer " + mint(t, stranger, "c-42")
			},
			status: http.StatusUnauthorized, detail: auth.DetailInvalid, challenge: invalid, reason: "verifies the signature"},

		{name: "missing role", path: "/admin",
			header: func(t *testing.T, ti *testIssuer) string { return "Bearer " + mint(t, ti.issuer(), "c-42", "support") },
			status: http.StatusForbidden, detail: `this operation requires the "admin" role`, challenge: forbidden},
		{name: "role check without authentication stays closed", path: "/miswired",
			header: func(t *testing.T, ti *testIssuer) string { return "Bearer " + mint(t, ti.issuer(), "ops-1", "admin") },
			status: http.StatusUnauthorized, detail: auth.DetailMissing, challenge: missing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ti := newTestIssuer(t)
			e, hook := newEngine(ti.verifier(t))
			header := tc.header(t, ti)
			rec := call(e, tc.path, header)
			if tc.status == http.StatusOK {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var p auth.Principal
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
				assert.Equal(t, tc.principal, p)
				return
			}
			problem(t, rec, tc.status, tc.detail)
			assert.Equal(t, tc.challenge, rec.Header().Get("WWW-Authenticate"))
			if token := strings.TrimSpace(strings.TrimPrefix(header, "Bearer")); len(token) > 8 {
				assert.NotContains(t, rec.Body.String(), token, "the body must not echo the token")
			}
			if tc.reason != "" {
				// The reason is logged, with the request id, for the operator.
				entry := logged(t, hook, "bearer token rejected")
				assert.Equal(t, rec.Header().Get("X-Request-ID"), entry.Data["request_id"])
				err, ok := entry.Data[logrus.ErrorKey].(error)
				require.True(t, ok, "the error is logged")
				assert.ErrorContains(t, err, tc.reason)
			}
		})
	}
}

func TestRotatedKeyIsFetchedOnUnknownKid(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t)
	e, _ := newEngine(ti.verifier(t))
	old := mint(t, ti.issuer(), "c-1")
	require.Equal(t, http.StatusOK, call(e, "/me", "Bearer "+old).Code)
	require.Equal(t, http.StatusOK, call(e, "/me", "Bearer "+mint(t, ti.issuer(), "c-1")).Code)
	assert.Equal(t, int32(1), ti.jwksGets.Load(), "known keys come from the cache")

	rotated := ti.rotate(t)
	rec := call(e, "/me", "Bearer "+mint(t, rotated, "c-2"))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, int32(2), ti.jwksGets.Load(), "an unknown kid fetches the JWKS again")
	assert.Equal(t, http.StatusOK, call(e, "/me", "Bearer "+mint(t, rotated, "c-2")).Code)
	assert.Equal(t, int32(2), ti.jwksGets.Load())

	assert.Equal(t, http.StatusUnauthorized, call(e, "/me", "Bearer "+old).Code, "a key the issuer retired no longer verifies")
}

func TestUnknownKidsFetchTheKeysAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t)
	v, err := auth.New(auth.Config{Issuer: ti.url, Audience: audience, JWKSRefreshInterval: time.Hour})
	require.NoError(t, err)
	e, _ := newEngine(v)
	require.Equal(t, http.StatusOK, call(e, "/me", "Bearer "+mint(t, ti.issuer(), "c-1")).Code)
	require.Equal(t, int32(1), ti.jwksGets.Load())

	other := ti.rotate(t)
	for range 5 {
		assert.Equal(t, http.StatusUnauthorized, call(e, "/me", "Bearer "+mint(t, other, "c-2")).Code)
	}
	assert.Equal(t, int32(1), ti.jwksGets.Load(), "tokens with key ids the service does not know cost no fetch within the interval")
}

func TestUnreachableIssuerAnswers503UntilItIsBack(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t)
	ti.down.Store(true)
	e, hook := newEngine(ti.verifier(t))
	token := mint(t, ti.issuer(), "c-42")

	rec := call(e, "/me", "Bearer "+token)
	problem(t, rec, http.StatusServiceUnavailable, auth.DetailUnavailable)
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "the caller's token is not at fault")
	logged(t, hook, "cannot check bearer tokens")
	assert.Equal(t, http.StatusServiceUnavailable, call(e, "/me", "Bearer "+token).Code)
	assert.Equal(t, http.StatusUnauthorized, call(e, "/me", "").Code, "no token is refused without the issuer")

	ti.down.Store(false)
	assert.Eventually(t, func() bool { return call(e, "/me", "Bearer "+token).Code == http.StatusOK },
		5*time.Second, 100*time.Millisecond, "discovery is retried once the issuer answers")
}

func TestCustomRoleClaim(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t)
	v, err := auth.New(auth.Config{Issuer: ti.url, Audience: audience, RoleClaim: "cognito:groups"})
	require.NoError(t, err)
	e, _ := newEngine(v)
	groups := sign(t, ti.issuer(), map[string]any{"cognito:groups": []string{"admin"}})
	assert.Equal(t, http.StatusOK, call(e, "/admin", "Bearer "+groups).Code)
	roles := sign(t, ti.issuer(), map[string]any{"roles": []string{"admin"}})
	assert.Equal(t, http.StatusForbidden, call(e, "/admin", "Bearer "+roles).Code, "only the configured claim counts")
}
