// Package authtest serves the development issuer for the services' API tests, so they authenticate exactly as
// in production: through the real verifier and middleware, with tokens the issuer signed.
package authtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"orderflow/apps/devissuer/issuer"
	"orderflow/internal/platform/auth"
)

// Audience is the audience the issuer mints for and the verifier expects.
const Audience = "orderflow"

// Issuer is a running development issuer and a verifier that trusts it.
type Issuer struct {
	*issuer.Issuer
	Verifier *auth.Verifier
}

// New starts an issuer for the test's lifetime.
func New(t testing.TB) *Issuer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	iss, err := issuer.New(url, Audience)
	require.NoError(t, err)
	srv.Config.Handler = iss.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	v, err := auth.New(auth.Config{Issuer: url, Audience: Audience})
	require.NoError(t, err)
	return &Issuer{Issuer: iss, Verifier: v}
}

// Require is the verifier's middleware.
func (i *Issuer) Require() gin.HandlerFunc { return i.Verifier.Require() }

// Token mints a token for sub with roles.
func (i *Issuer) Token(t testing.TB, sub string, roles ...string) string {
	t.Helper()
	tok, err := i.Mint(issuer.Request{Subject: sub, Roles: roles})
	require.NoError(t, err)
	return tok.AccessToken
}

// Bearer is the Authorization header for a token for sub with roles.
func (i *Issuer) Bearer(t testing.TB, sub string, roles ...string) map[string]string {
	t.Helper()
	return map[string]string{"Authorization": "Bearer " + i.Token(t, sub, roles...)}
}

// As wraps h so that a request without an Authorization header gets one for sub with roles: a test's
// default caller. A request that sets the header, even to "", keeps its own ("" sends none).
func (i *Issuer) As(t testing.TB, h http.Handler, sub string, roles ...string) http.Handler {
	t.Helper()
	header := "Bearer " + i.Token(t, sub, roles...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, set := r.Header["Authorization"]; !set {
			r.Header.Set("Authorization", header)
		} else if len(v) == 1 && v[0] == "" {
			r.Header.Del("Authorization")
		}
		h.ServeHTTP(w, r)
	})
}
