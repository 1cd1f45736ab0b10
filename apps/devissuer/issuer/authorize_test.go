package issuer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"orderflow/apps/devissuer/issuer"
)

const (
	clientID    = "orderflow-console"
	redirectURI = "http://127.0.0.1:8087/callback"
)

// served runs an issuer on a real listener, named after its own address, as the console reaches it.
func served(t *testing.T) (*issuer.Issuer, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	iss, err := issuer.New("http://"+srv.Listener.Addr().String(), audience)
	require.NoError(t, err)
	srv.Config.Handler = iss.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return iss, srv
}

// noRedirects is a client that shows the issuer's redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// relyingParty is the client side, as the console builds it: go-oidc discovery, x/oauth2 with PKCE.
func relyingParty(t *testing.T, srv *httptest.Server) (*oauth2.Config, *oidc.IDTokenVerifier) {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), srv.URL)
	require.NoError(t, err)
	return &oauth2.Config{ClientID: clientID, ClientSecret: "ignored", Endpoint: provider.Endpoint(),
		RedirectURL: redirectURI, Scopes: []string{oidc.ScopeOpenID}}, provider.Verifier(&oidc.Config{ClientID: clientID})
}

// login fills the login page for sub (with the admin role when admin) and returns where the issuer sends the
// browser.
func login(t *testing.T, authURL, sub string, admin bool) *url.URL {
	t.Helper()
	resp, err := http.Get(authURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the login page")
	// Browsers apply form-action to the redirect answering the form: the client's origin must be allowed.
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "form-action 'self' http://127.0.0.1:8087;")
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	form := u.Query()
	form.Set("sub", sub)
	if admin {
		form.Set("admin", "on")
	}
	resp, err = noRedirects.PostForm(u.Scheme+"://"+u.Host+"/authorize", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return back
}

func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		admin bool
		roles any
	}{
		{"a customer", false, nil},
		{"an operator", true, []any{"admin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss, srv := served(t)
			rp, verify := relyingParty(t, srv)
			verifier := oauth2.GenerateVerifier()
			back := login(t, rp.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1")), "c-42", tc.admin)
			assert.Equal(t, "127.0.0.1:8087", back.Host)
			assert.Equal(t, "/callback", back.Path)
			assert.Equal(t, "state-1", back.Query().Get("state"))
			code := back.Query().Get("code")
			require.NotEmpty(t, code)

			tok, err := rp.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
			require.NoError(t, err)
			rawID, _ := tok.Extra("id_token").(string)
			idToken, err := verify.Verify(context.Background(), rawID)
			require.NoError(t, err, "the ID token is for the client, signed with the published key")
			assert.Equal(t, "c-42", idToken.Subject)
			assert.Equal(t, "nonce-1", idToken.Nonce)

			std, all := claims(t, iss, tok.AccessToken)
			assert.Equal(t, "c-42", std.Subject)
			assert.Contains(t, std.Audience, audience, "the access token is for orderflow's APIs")
			assert.Equal(t, tc.roles, all[issuer.RoleClaim])

			_, err = rp.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
			require.Error(t, err, "a code is good once")
			assert.Contains(t, err.Error(), "invalid_grant")
		})
	}
}

func TestCodeExchangeRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(form url.Values)
		want   string
	}{
		{"another verifier", func(f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) }, "invalid_grant"},
		{"no verifier", func(f url.Values) { f.Del("code_verifier") }, "code_verifier is required"},
		{"another client", func(f url.Values) { f.Set("client_id", "someone-else") }, "another client"},
		{"another redirect URI", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:9999/callback") }, "redirect_uri differs"},
		{"an unknown code", func(f url.Values) { f.Set("code", "not-a-code") }, "unknown, used or expired"},
		{"another grant type", func(f url.Values) { f.Set("grant_type", "password") }, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, srv := served(t)
			rp, _ := relyingParty(t, srv)
			verifier := oauth2.GenerateVerifier()
			back := login(t, rp.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "c-42", false)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
				"client_id": {clientID}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
			tc.change(form)
			resp, err := http.PostForm(srv.URL+"/token", form)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Contains(t, string(body), tc.want)
		})
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	good := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "scope": {"openid"},
		"state": {"s-1"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	tests := []struct {
		name   string
		change func(q url.Values)
		// toClient: the error goes back to the redirect URI as error=<want>; otherwise the browser gets a 400
		// page containing want, and nothing is sent anywhere.
		toClient bool
		want     string
	}{
		{"a redirect URI on another machine", func(q url.Values) { q.Set("redirect_uri", "https://attacker.example/cb") }, false, "must point at this machine"},
		{"a relative redirect URI", func(q url.Values) { q.Set("redirect_uri", "/callback") }, false, "absolute http(s) URL"},
		{"no client", func(q url.Values) { q.Del("client_id") }, false, "client_id is required"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge") }, true, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, true, "invalid_request"},
		{"the implicit flow", func(q url.Values) { q.Set("response_type", "token") }, true, "unsupported_response_type"},
		{"no openid scope", func(q url.Values) { q.Set("scope", "profile") }, true, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{}
			for k, v := range good {
				q[k] = append([]string(nil), v...)
			}
			tc.change(q)
			rec := httptest.NewRecorder()
			newIssuer(t).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/authorize?"+q.Encode(), nil))
			if !tc.toClient {
				assert.Equal(t, http.StatusBadRequest, rec.Code)
				assert.Empty(t, rec.Header().Get("Location"))
				assert.Contains(t, rec.Body.String(), tc.want)
				return
			}
			require.Equal(t, http.StatusSeeOther, rec.Code)
			back, err := url.Parse(rec.Header().Get("Location"))
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1:8087", back.Host)
			assert.Equal(t, tc.want, back.Query().Get("error"))
			assert.Equal(t, "s-1", back.Query().Get("state"))
		})
	}
}

func TestLoginPageRefusesABadSubjectWithoutIssuingACode(t *testing.T) {
	t.Parallel()
	form := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "scope": {"openid"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		"sub": {"  "}}
	req := httptest.NewRequest(http.MethodPost, "/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	newIssuer(t).Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Empty(t, rec.Header().Get("Location"))
	assert.Contains(t, rec.Body.String(), "sub is required")
	assert.Contains(t, rec.Body.String(), `role="alert"`)
}

func TestDiscoveryAdvertisesTheCodeFlow(t *testing.T) {
	t.Parallel()
	var doc map[string]any
	get(t, newIssuer(t).Handler(), "/.well-known/openid-configuration", &doc)
	assert.Equal(t, issuerURL+"/authorize", doc["authorization_endpoint"])
	assert.Equal(t, []any{"code"}, doc["response_types_supported"])
	assert.Equal(t, []any{"S256"}, doc["code_challenge_methods_supported"])
}
