package auth_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/devissuer/issuer"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/web"
)

const audience = "orderflow"

// testIssuer is the development issuer on a real HTTP server, whose key can be rotated: rotating swaps in a
// new issuer under the same URL, as a real issuer publishes a new JWKS.
type testIssuer struct {
	url      string
	current  atomic.Pointer[issuer.Issuer]
	jwksGets atomic.Int32
	// down makes every answer a 503, as an unreachable issuer.
	down atomic.Bool
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/jwks.json" {
			ti.jwksGets.Add(1)
		}
		ti.current.Load().Handler().ServeHTTP(w, r)
	}))
	ti.url = "http://" + srv.Listener.Addr().String()
	ti.rotate(t)
	srv.Start()
	t.Cleanup(srv.Close)
	return ti
}

// rotate replaces the issuer's key and returns the issuer signing with the new one.
func (ti *testIssuer) rotate(t testing.TB) *issuer.Issuer {
	t.Helper()
	iss, err := issuer.New(ti.url, audience)
	require.NoError(t, err)
	ti.current.Store(iss)
	return iss
}

func (ti *testIssuer) issuer() *issuer.Issuer { return ti.current.Load() }

func (ti *testIssuer) verifier(t testing.TB) *auth.Verifier {
	t.Helper()
	v, err := auth.New(auth.Config{Issuer: ti.url, Audience: audience})
	require.NoError(t, err)
	return v
}

// mint returns a token for sub with roles from the issuer.
func mint(t testing.TB, iss *issuer.Issuer, sub string, roles ...string) string {
	t.Helper()
	tok, err := iss.Mint(issuer.Request{Subject: sub, Roles: roles})
	require.NoError(t, err)
	return tok.AccessToken
}

// sign signs the claims of a valid token for c-42, changed by edit (nil values delete a claim).
func sign(t *testing.T, iss *issuer.Issuer, edit map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": iss.URL(), "aud": audience, "sub": "c-42", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	maps.Copy(claims, edit)
	maps.DeleteFunc(claims, func(_ string, v any) bool { return v == nil })
	raw, err := iss.Sign(claims)
	require.NoError(t, err)
	return raw
}

// unsigned is a token with alg "none": a valid header and claims, and an empty signature.
func unsigned(t *testing.T, iss *issuer.Issuer) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now()
	return enc(map[string]string{"alg": "none", "typ": "JWT", "kid": iss.KeyID()}) + "." +
		enc(map[string]any{"iss": iss.URL(), "aud": audience, "sub": "c-42", "exp": now.Add(time.Hour).Unix()}) + "."
}

// hmacWithPublicKey is the algorithm-confusion attack: HS256 keyed with the issuer's public key, which anyone
// can fetch, in the hope that the verifier uses it as an HMAC secret.
func hmacWithPublicKey(t *testing.T, ti *testIssuer) string {
	t.Helper()
	resp, err := http.Get(ti.url + "/jwks.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	der, err := x509.MarshalPKIXPublicKey(set.Keys[0].Key)
	require.NoError(t, err)
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: secret, KeyID: set.Keys[0].KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(map[string]any{"iss": ti.url, "aud": audience, "sub": "c-42", "exp": now.Add(time.Hour).Unix()}).Serialize()
	require.NoError(t, err)
	return raw
}

// newEngine serves GET /me (any authenticated caller, answering its principal) and GET /admin (admins only)
// behind the verifier, with orderflow's engine; log receives what the middleware logs.
func newEngine(v *auth.Verifier) (*gin.Engine, *logtest.Hook) {
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	e := web.NewEngine(logrus.NewEntry(log))
	me := func(c *gin.Context) {
		p, ok := auth.FromGin(c)
		fromCtx, ok2 := auth.FromContext(c.Request.Context())
		if !ok || !ok2 || fromCtx.Subject != p.Subject {
			c.Status(http.StatusInternalServerError)
			return
		}
		c.JSON(http.StatusOK, p)
	}
	e.GET("/me", v.Require(), me)
	e.GET("/admin", v.Require(), auth.RequireRole("admin"), me)
	e.GET("/miswired", auth.RequireRole("admin"), me)
	return e, hook
}

// call sends GET path with the Authorization header (none when empty).
func call(e http.Handler, path, authorization string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// problem checks rec is an RFC 9457 problem with status and detail, and returns it.
func problem(t *testing.T, rec *httptest.ResponseRecorder, status int, detail string) web.Problem {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"))
	var p web.Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, web.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail,
		Instance: p.Instance, RequestID: rec.Header().Get(web.HeaderRequestID)}, p)
	assert.NotEmpty(t, p.RequestID)
	return p
}

// logged returns the entry the middleware logged with message (the access log comes after it).
func logged(t *testing.T, hook *logtest.Hook, message string) *logrus.Entry {
	t.Helper()
	for _, e := range hook.AllEntries() {
		if e.Message == message {
			return e
		}
	}
	require.Failf(t, "not logged", "no log entry %q", message)
	return nil
}
