// Package auth authenticates callers of orderflow's public APIs with OAuth 2.0 / OpenID Connect bearer JWTs.
//
// A Verifier trusts one issuer for one audience. It finds the issuer's keys through OIDC discovery and keeps
// its JWKS in memory, fetching it again when a token names a key id it does not know, which is how issuers
// rotate keys (github.com/coreos/go-oidc does the discovery, the key cache and the signature). A token is
// accepted only if it is signed with RS256 or ES256 by one of those keys, names the issuer and the audience,
// has a subject, has not expired and is already valid (ClockSkew either way). The subject is the customer id;
// the role claim (AUTH_ROLE_CLAIM, default "roles") carries roles such as "admin" for operators.
//
// Require and RequireRole are the gin middleware; FromContext gives handlers and the domain the Principal.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ClockSkew is how far the verifier's clock may be from the issuer's: a token is accepted up to ClockSkew
// after its exp and from ClockSkew before its nbf.
const ClockSkew = 30 * time.Second

// DefaultRoleClaim is the claim read for roles when AUTH_ROLE_CLAIM is not set (Entra ID's app roles claim).
const DefaultRoleClaim = "roles"

// algorithms are the only signature algorithms accepted: asymmetric, so that holding the issuer's public key
// (anyone can) never allows signing, and never "none".
var algorithms = []string{oidc.RS256, oidc.ES256}

// signingAlgorithms is algorithms for go-jose.
var signingAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

const (
	// discoveryRetry is the least time between two discovery attempts while the issuer cannot be reached, so
	// an issuer outage does not turn every request into a request to the issuer.
	discoveryRetry = time.Second
	// fetchTimeout bounds each discovery and JWKS request.
	fetchTimeout = 5 * time.Second
)

// Config is the part of a service's configuration that names whom to trust.
type Config struct {
	// Issuer is the issuer URL exactly as the issuer's discovery document and its tokens' iss claim spell it.
	Issuer string `env:"AUTH_ISSUER"`
	// Audience is the value the tokens' aud claim must contain: the API's identifier at the issuer.
	Audience string `env:"AUTH_AUDIENCE"`
	// RoleClaim names the claim holding the caller's roles (a string or an array of strings).
	RoleClaim string `env:"AUTH_ROLE_CLAIM" envDefault:"roles"`
	// JWKSRefreshInterval is the least time between two fetches of the issuer's keys: a token whose key id is
	// unknown makes the service fetch them again (how providers rotate keys) unless it did less than this ago,
	// so tokens with made-up key ids cannot flood the provider. Zero fetches for every such token.
	JWKSRefreshInterval time.Duration `env:"AUTH_JWKS_REFRESH_INTERVAL" envDefault:"10s"`
}

// Validate implements config.Validator. An unset issuer or audience is an error rather than "no
// authentication", so a missing setting can never leave an API open.
func (c Config) Validate() error {
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("AUTH_ISSUER is required"))
	} else if err := checkIssuerURL(c.Issuer); err != nil {
		errs = append(errs, err)
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("AUTH_AUDIENCE is required"))
	}
	if c.JWKSRefreshInterval < 0 {
		errs = append(errs, fmt.Errorf("AUTH_JWKS_REFRESH_INTERVAL must not be negative, got %s", c.JWKSRefreshInterval))
	}
	return errors.Join(errs...)
}

// checkIssuerURL requires https, except for an issuer on this machine (the development issuer): keys fetched
// over plain HTTP from elsewhere could be swapped on the way, and with them every token.
func checkIssuerURL(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("AUTH_ISSUER must be an absolute https URL, got %q", issuer)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("AUTH_ISSUER must use https (http is allowed only for an issuer on localhost), got %q", issuer)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Principal is the authenticated caller.
type Principal struct {
	// Subject is the token's sub claim: the customer id.
	Subject string
	Roles   []string
}

// HasRole reports whether the principal has role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// Errors Verify wraps, so the middleware can tell the caller's fault from the issuer's.
var (
	// ErrInvalidToken: the token is malformed, forged, expired, or for another issuer or audience.
	ErrInvalidToken = errors.New("invalid token")
	// ErrUnavailable: the issuer's discovery document could not be fetched, so no token can be checked yet.
	ErrUnavailable = errors.New("issuer unavailable")
)

// Verifier checks bearer tokens. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	client *http.Client

	mu sync.Mutex
	// oidc is nil until discovery succeeds.
	oidc *oidc.IDTokenVerifier
	// notBefore is when discovery may be tried again after a failure.
	notBefore time.Time
}

// New returns a verifier for cfg. It does not contact the issuer: discovery happens on the first token, so a
// service starts (and reports its other dependencies) even while the issuer is not reachable yet, as when
// `make run` starts every app at once.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = DefaultRoleClaim
	}
	return &Verifier{cfg: cfg, client: &http.Client{Timeout: fetchTimeout}}, nil
}

// Verify checks a raw JWT and returns its principal. Its errors wrap ErrInvalidToken or ErrUnavailable, with
// the reason for the log; they are not meant for the caller.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	idv, err := v.verifier(ctx)
	if err != nil {
		return Principal{}, err
	}
	tok, err := idv.Verify(ctx, raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var times jwt.Claims
	if err := tok.Claims(&times); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	// go-oidc checks exp with no leeway and nbf with five minutes; one small skew both ways is applied here.
	if times.Expiry == nil {
		return Principal{}, fmt.Errorf("%w: no exp claim", ErrInvalidToken)
	}
	if err := times.ValidateWithLeeway(jwt.Expected{}, ClockSkew); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if tok.Subject == "" {
		return Principal{}, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}
	roles, err := v.roles(tok)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return Principal{Subject: tok.Subject, Roles: roles}, nil
}

// verifier returns go-oidc's verifier, discovering the issuer first if that has not succeeded yet.
func (v *Verifier) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.oidc != nil {
		return v.oidc, nil
	}
	if time.Now().Before(v.notBefore) {
		return nil, fmt.Errorf("%w: discovery failed less than %s ago", ErrUnavailable, discoveryRetry)
	}
	// The client travels in the context (go-oidc's way) and serves the JWKS fetches too. A request that gives
	// up must not cancel the discovery every other request is waiting for.
	provider, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), v.client), v.cfg.Issuer)
	if err != nil {
		v.notBefore = time.Now().Add(discoveryRetry)
		return nil, fmt.Errorf("%w: discovery at %s: %w", ErrUnavailable, v.cfg.Issuer, err)
	}
	var endpoints struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := provider.Claims(&endpoints); err != nil || endpoints.JWKS == "" {
		v.notBefore = time.Now().Add(discoveryRetry)
		return nil, fmt.Errorf("%w: discovery at %s names no jwks_uri", ErrUnavailable, v.cfg.Issuer)
	}
	keys := &keySet{client: v.client, url: endpoints.JWKS, minInterval: v.cfg.JWKSRefreshInterval}
	v.oidc = oidc.NewVerifier(v.cfg.Issuer, keys, &oidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: algorithms,
		// Checked in Verify with ClockSkew instead.
		SkipExpiryCheck: true,
	})
	return v.oidc, nil
}

// roles reads the role claim: absent means no roles; a string is one role; an array must hold only strings.
func (v *Verifier) roles(tok *oidc.IDToken) ([]string, error) {
	var claims map[string]json.RawMessage
	if err := tok.Claims(&claims); err != nil {
		return nil, err
	}
	raw, ok := claims[v.cfg.RoleClaim]
	if !ok {
		return nil, nil
	}
	var roles []string
	if err := json.Unmarshal(raw, &roles); err == nil {
		return roles, nil
	}
	var role string
	if err := json.Unmarshal(raw, &role); err != nil {
		return nil, fmt.Errorf("claim %q is neither a string nor an array of strings", v.cfg.RoleClaim)
	}
	return []string{role}, nil
}
