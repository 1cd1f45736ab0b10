package issuer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The authorization code flow (RFC 6749 §4.1) with PKCE (RFC 7636), as an OpenID Connect provider serves it
// to a web app that logs people in (the console): GET /authorize shows a login page where the developer
// types a subject and ticks the admin role — no password, this issuer authenticates nobody —, POST
// /authorize issues a one-time code and sends the browser back to the client, and POST /token exchanges the
// code for an access token (for orderflow's APIs) and an ID token (for the client).
//
// What a real provider does and this one does too, because the client must be written against it: PKCE is
// required (S256 only), a code is used once and within CodeTTL, the token request must repeat the
// client_id and redirect_uri of the authorization request, and the ID token carries the nonce. What it does
// not do: register clients or check their secrets (any client_id is accepted, a client secret is ignored),
// and it sends the browser back only to a redirect URI on this machine (loopback), so a code never leaves it.

// CodeTTL is how long an authorization code may wait for its exchange.
const CodeTTL = time.Minute

// maxPendingCodes bounds the codes waiting for their exchange, so a script hammering the login form cannot
// grow the issuer's memory without end.
const maxPendingCodes = 1000

// grant is what an authorization code stands for until it is exchanged.
type grant struct {
	clientID, redirectURI, challenge, nonce string
	request                                 Request
	expires                                 time.Time
}

// codes holds the pending authorization codes.
type codes struct {
	mu      sync.Mutex
	pending map[string]grant
}

func (c *codes) issue(g grant) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	code := base64.RawURLEncoding.EncodeToString(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[string]grant{}
	}
	now := time.Now()
	for k, p := range c.pending {
		if now.After(p.expires) {
			delete(c.pending, k)
		}
	}
	if len(c.pending) >= maxPendingCodes {
		return "", errors.New("too many logins in progress; retry in a minute")
	}
	c.pending[code] = g
	return code, nil
}

// redeem takes the code out, whatever the outcome: a code is good for one token request only (RFC 6749
// §4.1.2), so a failed exchange cannot be retried with a guessed verifier.
func (c *codes) redeem(code string) (grant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.pending[code]
	delete(c.pending, code)
	if !ok || time.Now().After(g.expires) {
		return grant{}, false
	}
	return g, true
}

// authorizeRequest is the query of GET /authorize, repeated as hidden fields of the login form.
type authorizeRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State, Nonce, Challenge, ChallengeMethod string
}

func readAuthorizeRequest(v url.Values) authorizeRequest {
	return authorizeRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		Scope: v.Get("scope"), State: v.Get("state"), Nonce: v.Get("nonce"),
		Challenge: v.Get("code_challenge"), ChallengeMethod: v.Get("code_challenge_method"),
	}
}

// checkRedirect validates the redirect URI on its own: until it is known to be good, errors are shown to the
// person at the browser instead of being sent anywhere (RFC 6749 §4.1.2.1).
func (r authorizeRequest) checkRedirect() error {
	if r.ClientID == "" {
		return errors.New("client_id is required")
	}
	u, err := url.Parse(r.RedirectURI)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" {
		return fmt.Errorf("redirect_uri must be an absolute http(s) URL without a fragment, got %q", r.RedirectURI)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("redirect_uri must point at this machine (localhost or 127.0.0.1): the development issuer sends codes nowhere else, got %q", r.RedirectURI)
	}
	return nil
}

// check validates what a client may get wrong once the redirect URI is known to be good; the error is the
// OAuth error code and its description.
func (r authorizeRequest) check() (string, string) {
	switch {
	case r.ResponseType != "code":
		return "unsupported_response_type", "response_type must be code (the authorization code flow)"
	case !hasScope(r.Scope, "openid"):
		return "invalid_scope", "scope must include openid"
	case r.Challenge == "":
		return "invalid_request", "code_challenge is required: PKCE (RFC 7636) is mandatory"
	case r.ChallengeMethod != "S256":
		return "invalid_request", "code_challenge_method must be S256"
	case len(r.Challenge) < 43 || len(r.Challenge) > 128:
		return "invalid_request", "code_challenge must be 43-128 characters (base64url of a SHA-256)"
	}
	return "", ""
}

func hasScope(scopes, want string) bool {
	for _, s := range strings.Fields(scopes) {
		if s == want {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// back is the redirect URI with the given query parameters added (state always, when the client sent one).
func (r authorizeRequest) back(params url.Values) string {
	u, _ := url.Parse(r.RedirectURI) // checked by checkRedirect
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if r.State != "" {
		q.Set("state", r.State)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

//go:embed login.html
var loginHTML string

var loginPage = template.Must(template.New("login").Parse(loginHTML))

type loginView struct {
	Request  authorizeRequest
	Subject  string
	Admin    bool
	Error    string
	Client   string
	Redirect string
}

func (i *Issuer) authorizePage(w http.ResponseWriter, r *http.Request) {
	req := readAuthorizeRequest(r.URL.Query())
	if !i.authorizeChecks(w, r, req) {
		return
	}
	renderLogin(w, http.StatusOK, loginView{Request: req})
}

func (i *Issuer) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form body", http.StatusBadRequest)
		return
	}
	req := readAuthorizeRequest(r.PostForm)
	if !i.authorizeChecks(w, r, req) {
		return
	}
	login := Request{Subject: strings.TrimSpace(r.PostForm.Get("sub"))}
	admin := r.PostForm.Get("admin") == "on"
	if admin {
		login.Roles = []string{"admin"}
	}
	if err := login.validate(); err != nil {
		renderLogin(w, http.StatusBadRequest, loginView{Request: req, Subject: login.Subject, Admin: admin, Error: err.Error()})
		return
	}
	code, err := i.codes.issue(grant{
		clientID: req.ClientID, redirectURI: req.RedirectURI, challenge: req.Challenge, nonce: req.Nonce,
		request: login, expires: time.Now().Add(CodeTTL),
	})
	if err != nil {
		http.Redirect(w, r, req.back(url.Values{"error": {"temporarily_unavailable"}, "error_description": {err.Error()}}), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, req.back(url.Values{"code": {code}}), http.StatusSeeOther)
}

// authorizeChecks answers a bad authorization request and reports whether it was good: a bad redirect URI to
// the person at the browser, anything else to the client at its redirect URI.
func (i *Issuer) authorizeChecks(w http.ResponseWriter, r *http.Request, req authorizeRequest) bool {
	w.Header().Set("Cache-Control", "no-store")
	if err := req.checkRedirect(); err != nil {
		http.Error(w, "invalid authorization request: "+err.Error(), http.StatusBadRequest)
		return false
	}
	if code, desc := req.check(); code != "" {
		http.Redirect(w, r, req.back(url.Values{"error": {code}, "error_description": {desc}}), http.StatusSeeOther)
		return false
	}
	return true
}

func renderLogin(w http.ResponseWriter, status int, v loginView) {
	v.Client, v.Redirect = v.Request.ClientID, v.Request.RedirectURI
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page is framed by nobody and runs no script. Its form may go here and, since browsers apply
	// form-action to the redirect that answers a form too, on to the client's redirect URI (checked: loopback).
	back, _ := url.Parse(v.Request.RedirectURI)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "+
		back.Scheme+"://"+back.Host+"; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, v)
}

// exchange answers POST /token with grant_type=authorization_code.
func (i *Issuer) exchange(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	clientID := f.Get("client_id")
	if id, _, ok := r.BasicAuth(); ok {
		// client_secret_basic: the client id is the user name (URL-encoded, RFC 6749 §2.3.1).
		if unescaped, err := url.QueryUnescape(id); err == nil {
			clientID = unescaped
		}
	}
	code, verifier, redirectURI := f.Get("code"), f.Get("code_verifier"), f.Get("redirect_uri")
	switch {
	case code == "" || clientID == "" || redirectURI == "":
		tokenError(w, "invalid_request", "code, client_id and redirect_uri are required")
		return
	case verifier == "":
		tokenError(w, "invalid_request", "code_verifier is required (PKCE)")
		return
	}
	g, ok := i.codes.redeem(code)
	if !ok {
		tokenError(w, "invalid_grant", "the code is unknown, used or expired")
		return
	}
	sum := sha256.Sum256([]byte(verifier))
	switch {
	case g.clientID != clientID:
		tokenError(w, "invalid_grant", "the code was issued to another client")
		return
	case g.redirectURI != redirectURI:
		tokenError(w, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	case subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1:
		tokenError(w, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	tok, err := i.Mint(g.request)
	if err != nil {
		tokenError(w, "invalid_request", err.Error())
		return
	}
	now := time.Now()
	idClaims := map[string]any{
		"iss": i.url, "aud": clientID, "azp": clientID, "sub": g.request.Subject,
		"iat": now.Unix(), "exp": now.Add(DefaultTTL).Unix(), "auth_time": now.Unix(),
	}
	if g.nonce != "" {
		idClaims["nonce"] = g.nonce
	}
	if len(g.request.Roles) > 0 {
		idClaims[RoleClaim] = g.request.Roles
	}
	idToken, err := i.Sign(idClaims)
	if err != nil {
		tokenError(w, "server_error", "signing the ID token failed")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, codeToken{Token: tok, IDToken: idToken, Scope: "openid"})
}

// codeToken is the token response of the authorization code grant (OpenID Connect Core §3.1.3.3).
type codeToken struct {
	Token
	IDToken string `json:"id_token"`
	Scope   string `json:"scope"`
}

func tokenError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}
