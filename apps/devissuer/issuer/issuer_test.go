package issuer_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/devissuer/issuer"
)

const (
	issuerURL = "http://127.0.0.1:8088"
	audience  = "orderflow"
)

func newIssuer(t *testing.T) *issuer.Issuer {
	t.Helper()
	iss, err := issuer.New(issuerURL, audience)
	require.NoError(t, err)
	return iss
}

func get(t *testing.T, h http.Handler, path string, v any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), v))
}

func TestDiscoveryNamesTheIssuerAndItsEndpoints(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	get(t, newIssuer(t).Handler(), "/.well-known/openid-configuration", &doc)
	assert.Equal(t, issuerURL, doc["issuer"])
	assert.Equal(t, issuerURL+"/jwks.json", doc["jwks_uri"])
	assert.Equal(t, issuerURL+"/token", doc["token_endpoint"])
	assert.Equal(t, []any{"ES256"}, doc["id_token_signing_alg_values_supported"])
}

func TestJWKSPublishesOnlyThePublicKey(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	rec := httptest.NewRecorder()
	iss.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/jwks.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.NotContains(t, rec.Body.String(), `"d"`, "the private scalar must never be published")
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &set))
	require.Len(t, set.Keys, 1)
	key := set.Keys[0]
	assert.Equal(t, iss.KeyID(), key.KeyID)
	assert.Equal(t, "ES256", key.Algorithm)
	assert.Equal(t, "sig", key.Use)
	assert.True(t, key.IsPublic())
}

func TestEachIssuerHasItsOwnKey(t *testing.T) {
	t.Parallel()
	assert.NotEqual(t, newIssuer(t).KeyID(), newIssuer(t).KeyID())
}

func TestNewRequiresURLAndAudience(t *testing.T) {
	t.Parallel()
	_, err := issuer.New("", audience)
	require.Error(t, err)
	_, err = issuer.New(issuerURL, "")
	require.Error(t, err)
}

// claims verifies a token against the issuer's published JWKS and returns its claims.
func claims(t *testing.T, iss *issuer.Issuer, raw string) (jwt.Claims, map[string]any) {
	t.Helper()
	var set jose.JSONWebKeySet
	get(t, iss.Handler(), "/jwks.json", &set)
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	require.Len(t, tok.Headers, 1)
	assert.Equal(t, iss.KeyID(), tok.Headers[0].KeyID)
	var std jwt.Claims
	var all map[string]any
	require.NoError(t, tok.Claims(set.Keys[0], &std, &all))
	return std, all
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		roles       any
		ttl         time.Duration
	}{
		{"form without roles", "application/x-www-form-urlencoded", "sub=c-42", nil, issuer.DefaultTTL},
		{"form with repeated roles and a ttl", "application/x-www-form-urlencoded", "sub=c-42&roles=admin&roles=support&ttl=15m",
			[]any{"admin", "support"}, 15 * time.Minute},
		{"json", "application/json; charset=utf-8", `{"sub":"c-42","roles":["admin"],"ttl":"2h"}`, []any{"admin"}, 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss := newIssuer(t)
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			rec := httptest.NewRecorder()
			iss.Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			var tok issuer.Token
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tok))
			assert.Equal(t, "Bearer", tok.TokenType)
			assert.Equal(t, int64(tc.ttl.Seconds()), tok.ExpiresIn)

			std, all := claims(t, iss, tok.AccessToken)
			assert.Equal(t, issuerURL, std.Issuer)
			assert.Equal(t, "c-42", std.Subject)
			assert.Equal(t, jwt.Audience{audience}, std.Audience)
			assert.Equal(t, tc.ttl, std.Expiry.Time().Sub(std.IssuedAt.Time()))
			assert.Equal(t, std.IssuedAt, std.NotBefore)
			assert.Equal(t, tc.roles, all[issuer.RoleClaim])
		})
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{"no subject", "application/x-www-form-urlencoded", "roles=admin", "sub is required"},
		{"subject too long", "application/json", `{"sub":"` + strings.Repeat("x", 256) + `"}`, "sub must be at most"},
		{"ttl not a duration", "application/x-www-form-urlencoded", "sub=c-1&ttl=soon", "ttl must be a positive duration"},
		{"negative ttl", "application/x-www-form-urlencoded", "sub=c-1&ttl=-1h", "ttl must be a positive duration"},
		{"ttl over a day", "application/json", `{"sub":"c-1","ttl":"25h"}`, "ttl must be between"},
		{"empty role", "application/json", `{"sub":"c-1","roles":[" "]}`, "roles must not be empty"},
		{"unknown JSON field", "application/json", `{"sub":"c-1","aud":"other"}`, "unknown field"},
		{"malformed JSON", "application/json", `{"sub":`, "invalid JSON body"},
		{"other media type", "text/plain", "sub=c-1", "application/json or application/x-www-form-urlencoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			rec := httptest.NewRecorder()
			newIssuer(t).Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusBadRequest, rec.Code)
			var answer map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer))
			assert.Equal(t, "invalid_request", answer["error"])
			assert.Contains(t, answer["error_description"], tc.want)
		})
	}
}

func TestTokenEndpointIsPostOnly(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	newIssuer(t).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/token?sub=c-1", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}
