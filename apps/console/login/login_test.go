package login_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/console/login"
	"orderflow/apps/devissuer/issuer"
	"orderflow/internal/apperr"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/auth"
)

const callback = "http://127.0.0.1:8087/callback"

// devIssuer serves the development issuer; audience is what its access tokens are for.
func devIssuer(t *testing.T, audience string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	iss, err := issuer.New("http://"+srv.Listener.Addr().String(), audience)
	require.NoError(t, err)
	srv.Config.Handler = iss.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func provider(t *testing.T, issuerURL, apiAudience string, cfg login.Config) *login.Provider {
	t.Helper()
	api, err := auth.New(auth.Config{Issuer: issuerURL, Audience: apiAudience})
	require.NoError(t, err)
	p, err := login.NewProvider(cfg, issuerURL, callback, api)
	require.NoError(t, err)
	return p
}

// signIn does what the person does at the issuer's login page, and returns the code and state it sends back.
func signIn(t *testing.T, authURL, sub string, admin bool) (code, state string) {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	form := u.Query()
	form.Set("sub", sub)
	if admin {
		form.Set("admin", "on")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "/callback", back.Path)
	return back.Query().Get("code"), back.Query().Get("state")
}

func TestLoginWithTheDevelopmentIssuer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		admin    bool
		apiToken string
		roles    []string
	}{
		{"a customer, with the access token", false, login.AccessToken, nil},
		{"an operator, with the access token", true, login.AccessToken, []string{"admin"}},
		// The ID token is for the console (its aud is the client id), so the APIs must trust that audience.
		{"an operator, with the ID token", true, login.IDToken, []string{"admin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss := devIssuer(t, "orderflow")
			audience := "orderflow"
			if tc.apiToken == login.IDToken {
				audience = "orderflow-console"
			}
			p := provider(t, iss, audience, login.Config{ClientID: "orderflow-console", APIToken: tc.apiToken})
			now := time.Now()
			pending, authURL, err := p.Start(context.Background(), "/orders/new", now)
			require.NoError(t, err)
			assert.Contains(t, authURL, "code_challenge_method=S256")
			assert.NotContains(t, authURL, pending.Verifier, "the verifier never leaves the server")

			sessions := login.NewSessions(kvfake.New[login.Session](), kvfake.New[login.Pending](), time.Now)
			require.NoError(t, sessions.Remember(context.Background(), pending))
			code, state := signIn(t, authURL, "c-42", tc.admin)
			recalled, err := sessions.Recall(context.Background(), pending.State, state)
			require.NoError(t, err)
			assert.Equal(t, "/orders/new", recalled.Next)
			_, err = sessions.Recall(context.Background(), pending.State, state)
			assert.ErrorIs(t, err, login.ErrNoLogin, "a login is used once")

			id, err := p.Finish(context.Background(), recalled, code)
			require.NoError(t, err)
			assert.Equal(t, "c-42", id.Subject)
			assert.Equal(t, tc.roles, id.Roles)
			assert.WithinDuration(t, now.Add(issuer.DefaultTTL), id.Expiry, 5*time.Second)

			cookie, sess, err := sessions.Open(context.Background(), id)
			require.NoError(t, err)
			found, ok, err := sessions.Find(context.Background(), cookie)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, sess, found)
			assert.Equal(t, tc.admin, found.Admin())
			assert.NotEmpty(t, found.CSRF)
			require.NoError(t, sessions.Close(context.Background(), cookie))
			_, ok, err = sessions.Find(context.Background(), cookie)
			require.NoError(t, err)
			assert.False(t, ok, "a closed session is gone")
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	iss := devIssuer(t, "orderflow")

	t.Run("a token the APIs would refuse fails the login", func(t *testing.T) {
		t.Parallel()
		p := provider(t, iss, "another-api", login.Config{ClientID: "orderflow-console", APIToken: login.AccessToken})
		pending, authURL, err := p.Start(context.Background(), "/", time.Now())
		require.NoError(t, err)
		code, _ := signIn(t, authURL, "c-42", false)
		_, err = p.Finish(context.Background(), pending, code)
		require.Error(t, err)
		assert.Equal(t, apperr.Forbidden, apperr.CodeOf(err))
		assert.Contains(t, err.Error(), "AUTH_AUDIENCE")
	})
	t.Run("a code from another login fails the PKCE check", func(t *testing.T) {
		t.Parallel()
		p := provider(t, iss, "orderflow", login.Config{ClientID: "orderflow-console", APIToken: login.AccessToken})
		mine, _, err := p.Start(context.Background(), "/", time.Now())
		require.NoError(t, err)
		_, theirs, err := p.Start(context.Background(), "/", time.Now())
		require.NoError(t, err)
		code, _ := signIn(t, theirs, "attacker", true)
		_, err = p.Finish(context.Background(), mine, code)
		require.Error(t, err)
		assert.Equal(t, apperr.Forbidden, apperr.CodeOf(err))
	})
	t.Run("a callback whose state is not the browser's", func(t *testing.T) {
		t.Parallel()
		sessions := login.NewSessions(kvfake.New[login.Session](), kvfake.New[login.Pending](), time.Now)
		require.NoError(t, sessions.Remember(context.Background(), login.Pending{State: "s-1", Started: time.Now()}))
		_, err := sessions.Recall(context.Background(), "s-2", "s-1")
		assert.ErrorIs(t, err, login.ErrNoLogin)
		_, err = sessions.Recall(context.Background(), "", "")
		assert.ErrorIs(t, err, login.ErrNoLogin)
	})
	t.Run("an unreachable provider is a temporary failure", func(t *testing.T) {
		t.Parallel()
		p := provider(t, "http://127.0.0.1:1", "orderflow", login.Config{ClientID: "c", APIToken: login.AccessToken})
		_, _, err := p.Start(context.Background(), "/", time.Now())
		require.Error(t, err)
		assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err))
	})
	t.Run("settings", func(t *testing.T) {
		t.Parallel()
		assert.Error(t, login.Config{ClientID: "", APIToken: login.AccessToken}.Validate())
		assert.Error(t, login.Config{ClientID: "c", APIToken: "refresh_token"}.Validate())
	})
}

func TestSessionsEndWithTheirToken(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := now
	sessions := login.NewSessions(kvfake.New[login.Session](), kvfake.New[login.Pending](), func() time.Time { return clock })
	cookie, _, err := sessions.Open(context.Background(), login.Identity{Subject: "c-42", Token: "t", Expiry: now.Add(time.Hour)})
	require.NoError(t, err)
	clock = now.Add(time.Hour + time.Second)
	_, ok, err := sessions.Find(context.Background(), cookie)
	require.NoError(t, err)
	assert.False(t, ok, "a session whose token expired is over")
	_, _, err = sessions.Open(context.Background(), login.Identity{Subject: "c-42", Token: "t", Expiry: clock.Add(10 * time.Second)})
	assert.Error(t, err, "a token about to expire starts no session")
}
