// Package login makes the console an OpenID Connect relying party: it logs people in with the identity
// provider orderflow's APIs trust (AUTH_ISSUER), through the authorization code flow with PKCE
// (github.com/coreos/go-oidc for discovery and the ID token, golang.org/x/oauth2 for the flow), and keeps
// their sessions in the console's own state store.
//
// The browser holds only a random session id (in a Secure, HttpOnly, SameSite cookie the api package sets);
// the tokens stay on the server, which sends the person's API token to the services on their behalf (the
// "backend for frontend" pattern). The API token is checked with the same verifier the services use
// (internal/platform/auth), so a login whose token the APIs would refuse fails at the login, and the
// subject and roles the console shows are exactly those the services will see.
package login

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"orderflow/internal/apperr"
	"orderflow/internal/kv"
	"orderflow/internal/platform/auth"
)

// Config is the console's registration with the identity provider.
type Config struct {
	// ClientID is the console's client id at the provider.
	ClientID string `env:"OIDC_CLIENT_ID" envDefault:"orderflow-console"`
	// ClientSecret authenticates a confidential client; empty for a public one (PKCE protects the code either
	// way).
	ClientSecret string `env:"OIDC_CLIENT_SECRET" secret:"true"`
	// Scopes are asked for besides openid, space-separated (Entra ID wants the API's scope here, such as
	// api://<api-client-id>/orders, for an access token of that audience).
	Scopes string `env:"OIDC_SCOPES"`
	// APIToken names the token of the provider's answer that orderflow's APIs accept: access_token (a JWT
	// for AUTH_AUDIENCE: Entra ID, the development issuer) or id_token (Cognito and Google, whose access
	// tokens the APIs refuse; docs/auth.md).
	APIToken string `env:"OIDC_API_TOKEN" envDefault:"access_token"`
}

// The tokens APIToken may name.
const (
	AccessToken = "access_token"
	IDToken     = "id_token"
)

// Validate implements config.Validator.
func (c Config) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, errors.New("OIDC_CLIENT_ID must not be empty"))
	}
	if c.APIToken != AccessToken && c.APIToken != IDToken {
		errs = append(errs, fmt.Errorf("OIDC_API_TOKEN must be %s or %s, got %q", AccessToken, IDToken, c.APIToken))
	}
	return errors.Join(errs...)
}

// Identity is who logged in, as the APIs will see them, and the token that says so.
type Identity struct {
	Subject string
	Roles   []string
	// Token is the bearer token sent to the APIs; Expiry is when it stops working.
	Token  string
	Expiry time.Time
}

// Pending is a login in progress: what the callback must match (state, nonce) and prove (the PKCE verifier).
type Pending struct {
	State    string    `json:"state"`
	Verifier string    `json:"verifier"`
	Nonce    string    `json:"nonce"`
	Next     string    `json:"next"`
	Started  time.Time `json:"started"`
}

// discoveryRetry is the least time between two discovery attempts while the provider cannot be reached.
const discoveryRetry = time.Second

// Provider runs the flow against one identity provider.
type Provider struct {
	cfg      Config
	issuer   string
	redirect string
	client   *http.Client
	api      *auth.Verifier

	mu        sync.Mutex
	oauth     *oauth2.Config
	ids       *oidc.IDTokenVerifier
	notBefore time.Time
}

// NewProvider returns a provider for issuer (AUTH_ISSUER) that sends people back to redirectURL and checks
// API tokens with api. Like the services' verifier, it contacts the provider only on the first login.
func NewProvider(cfg Config, issuer, redirectURL string, api *auth.Verifier) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, issuer: issuer, redirect: redirectURL, client: &http.Client{Timeout: 10 * time.Second}, api: api}, nil
}

// discovered returns the flow's configuration, discovering the provider first if that has not succeeded.
func (p *Provider) discovered(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.ids, nil
	}
	if time.Now().Before(p.notBefore) {
		return nil, nil, apperr.New(apperr.Unavailable, "the identity provider could not be reached a moment ago; retry")
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), p.client), p.issuer)
	if err != nil {
		p.notBefore = time.Now().Add(discoveryRetry)
		return nil, nil, apperr.Wrap(apperr.Unavailable, err, "discovering the identity provider %s", p.issuer)
	}
	scopes := append([]string{oidc.ScopeOpenID}, strings.Fields(p.cfg.Scopes)...)
	p.oauth = &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: p.redirect, Scopes: slices.Compact(scopes)}
	p.ids = provider.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	return p.oauth, p.ids, nil
}

// Start begins a login that returns to next (a path of the console) and returns where to send the browser.
func (p *Provider) Start(ctx context.Context, next string, now time.Time) (Pending, string, error) {
	cfg, _, err := p.discovered(ctx)
	if err != nil {
		return Pending{}, "", err
	}
	pending := Pending{State: random(), Verifier: oauth2.GenerateVerifier(), Nonce: random(), Next: next, Started: now.UTC()}
	return pending, cfg.AuthCodeURL(pending.State, oauth2.S256ChallengeOption(pending.Verifier), oidc.Nonce(pending.Nonce)), nil
}

// Finish exchanges the code the provider sent back for tokens, checks the ID token (signature, audience,
// expiry, nonce) and the API token (as the services will), and returns who logged in.
func (p *Provider) Finish(ctx context.Context, pending Pending, code string) (Identity, error) {
	cfg, ids, err := p.discovered(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pending.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, apperr.Wrap(apperr.Forbidden, err, "the identity provider refused the login (%s)", re.ErrorCode)
		}
		return Identity{}, apperr.Wrap(apperr.Unavailable, err, "exchanging the login code")
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return Identity{}, apperr.New(apperr.Forbidden, "the identity provider sent no ID token")
	}
	idToken, err := ids.Verify(ctx, rawID)
	if err != nil {
		return Identity{}, apperr.Wrap(apperr.Forbidden, err, "the ID token is not valid")
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(pending.Nonce)) != 1 {
		return Identity{}, apperr.New(apperr.Forbidden, "the ID token's nonce is not this login's")
	}
	apiToken, expiry := tok.AccessToken, tok.Expiry
	if p.cfg.APIToken == IDToken {
		apiToken, expiry = rawID, idToken.Expiry
	}
	principal, err := p.api.Verify(ctx, apiToken)
	if errors.Is(err, auth.ErrUnavailable) {
		return Identity{}, apperr.Wrap(apperr.Unavailable, err, "checking the API token")
	}
	if err != nil {
		return Identity{}, apperr.Wrap(apperr.Forbidden, err,
			"the provider's %s is not a token orderflow's APIs accept (check AUTH_AUDIENCE and OIDC_API_TOKEN)", p.cfg.APIToken)
	}
	if expiry.IsZero() {
		expiry = idToken.Expiry
	}
	return Identity{Subject: principal.Subject, Roles: principal.Roles, Token: apiToken, Expiry: expiry}, nil
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

// Session is one logged-in browser.
type Session struct {
	Subject string    `json:"subject"`
	Roles   []string  `json:"roles,omitempty"`
	Token   string    `json:"token"`
	Expiry  time.Time `json:"expiry"`
	// CSRF is the token every form of the session must send back.
	CSRF string `json:"csrf"`
}

// Admin reports whether the session has the operators' role.
func (s Session) Admin() bool { return slices.Contains(s.Roles, "admin") }

// Store persists sessions and pending logins (the console's state store).
type Store[T any] interface {
	kv.Creatable[T]
	Delete(ctx context.Context, key, etag string) error
}

// Limits of sessions and logins.
const (
	// MaxSession bounds a session whatever the token's lifetime says.
	MaxSession = 12 * time.Hour
	// PendingTTL is how long a login may take at the provider.
	PendingTTL = 10 * time.Minute
)

// Sessions keeps sessions and pending logins under keys derived from the browser's secrets by SHA-256, so
// what the store holds cannot be replayed as a cookie.
type Sessions struct {
	sessions Store[Session]
	pending  Store[Pending]
	now      func() time.Time
}

// NewSessions returns sessions over their stores.
func NewSessions(sessions Store[Session], pending Store[Pending], now func() time.Time) *Sessions {
	return &Sessions{sessions: sessions, pending: pending, now: now}
}

func key(prefix, secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return prefix + hex.EncodeToString(sum[:])
}

// Open starts a session for id and returns its cookie value and the session. It lasts as long as the
// person's token (at most MaxSession).
func (s *Sessions) Open(ctx context.Context, id Identity) (string, Session, error) {
	ttl := min(id.Expiry.Sub(s.now()), MaxSession)
	if ttl < time.Minute {
		return "", Session{}, apperr.New(apperr.Forbidden, "the identity provider's token expires in %s: too soon to start a session", ttl.Round(time.Second))
	}
	cookie := random()
	sess := Session{Subject: id.Subject, Roles: id.Roles, Token: id.Token, Expiry: s.now().Add(ttl).UTC(), CSRF: random()}
	if err := s.sessions.Create(ctx, key("session/", cookie), sess, kv.WithTTL(ttl)); err != nil {
		return "", Session{}, fmt.Errorf("storing the session: %w", err)
	}
	return cookie, sess, nil
}

// Find returns the session of a cookie value; an unknown or expired one is not found.
func (s *Sessions) Find(ctx context.Context, cookie string) (Session, bool, error) {
	if cookie == "" {
		return Session{}, false, nil
	}
	sess, _, err := s.sessions.Get(ctx, key("session/", cookie))
	if errors.Is(err, kv.ErrNotFound) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("reading the session: %w", err)
	}
	if !s.now().Before(sess.Expiry) {
		return Session{}, false, nil
	}
	return sess, true, nil
}

// Close ends the session of a cookie value.
func (s *Sessions) Close(ctx context.Context, cookie string) error {
	if cookie == "" {
		return nil
	}
	if err := s.sessions.Delete(ctx, key("session/", cookie), ""); err != nil && !errors.Is(err, kv.ErrNotFound) {
		return fmt.Errorf("ending the session: %w", err)
	}
	return nil
}

// Remember keeps a login in progress until the provider sends the browser back; the browser keeps its state
// in a cookie.
func (s *Sessions) Remember(ctx context.Context, p Pending) error {
	if err := s.pending.Create(ctx, key("login/", p.State), p, kv.WithTTL(PendingTTL)); err != nil {
		return fmt.Errorf("storing the login in progress: %w", err)
	}
	return nil
}

// ErrNoLogin is returned by Recall when the callback belongs to no login of this browser.
var ErrNoLogin = apperr.New(apperr.Forbidden, "this login was not started here, took too long, or was already used: sign in again")

// Recall returns the login the provider sent the browser back from, once: state is the callback's state
// parameter, which must be the one the browser's cookie holds (so a code injected into another browser's
// callback is refused).
func (s *Sessions) Recall(ctx context.Context, cookieState, state string) (Pending, error) {
	if state == "" || subtle.ConstantTimeCompare([]byte(cookieState), []byte(state)) != 1 {
		return Pending{}, ErrNoLogin
	}
	k := key("login/", state)
	p, etag, err := s.pending.Get(ctx, k)
	if errors.Is(err, kv.ErrNotFound) {
		return Pending{}, ErrNoLogin
	}
	if err != nil {
		return Pending{}, fmt.Errorf("reading the login in progress: %w", err)
	}
	// Under the ETag read: of two callbacks racing with the same state, one deletes it and the other fails.
	if err := s.pending.Delete(ctx, k, etag); errors.Is(err, kv.ErrConflict) || errors.Is(err, kv.ErrNotFound) {
		return Pending{}, ErrNoLogin
	} else if err != nil {
		return Pending{}, fmt.Errorf("using up the login in progress: %w", err)
	}
	if s.now().Sub(p.Started) > PendingTTL {
		return Pending{}, ErrNoLogin
	}
	return p, nil
}
