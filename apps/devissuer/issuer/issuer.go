// Package issuer is a development-only OpenID Connect issuer: it publishes OIDC discovery and a JWKS, and mints
// ES256-signed bearer tokens for whatever subject and roles it is asked for, either straight from POST /token
// or through the authorization code flow with PKCE, whose login page asks for a subject and an admin tick but
// no password (authorize.go: how web apps such as the console log people in). It exists so
// `make run` has an issuer that the services' verifier (internal/platform/auth) trusts exactly as it trusts a
// real identity provider in production, through discovery and the JWKS, with no test-only path in the services.
//
// DEVELOPMENT ONLY: anyone who can reach POST /token or the login page gets a token for any subject, admin
// role included. It is a
// stand-in for a third-party identity provider (Entra ID, Cognito, Google, …), never deployed with orderflow.
//
// Its key is generated when it starts and never stored: a restarted issuer publishes a new key id, so tokens
// minted before the restart stop verifying, while the services pick the new key up on its first token (an
// unknown key id makes them fetch the JWKS again).
package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// RoleClaim is the claim that carries the roles, the verifier's default (AUTH_ROLE_CLAIM).
const RoleClaim = "roles"

// TTL bounds: tokens last DefaultTTL unless asked otherwise, and never longer than MaxTTL, so a token pasted
// into a script does not outlive the working day.
const (
	DefaultTTL = time.Hour
	MaxTTL     = 24 * time.Hour
)

// maxSubject bounds the subject so a mistyped command cannot mint an absurd token.
const maxSubject = 255

// Issuer signs tokens as one issuer URL for one audience.
type Issuer struct {
	url      string
	audience string
	signer   jose.Signer
	public   jose.JSONWebKey
	codes    codes
}

// New returns an issuer with a fresh P-256 key, naming itself issuerURL (the iss claim and the base of its
// endpoints, which must be the URL the services are configured with) and minting tokens for audience.
func New(issuerURL, audience string) (*Issuer, error) {
	if issuerURL == "" || audience == "" {
		return nil, errors.New("issuer URL and audience are required")
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the signing key: %w", err)
	}
	public := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key id: %w", err)
	}
	// The RFC 7638 thumbprint makes the key id a function of the key, so a new key always has a new id.
	public.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: public.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return &Issuer{url: strings.TrimSuffix(issuerURL, "/"), audience: audience, signer: signer, public: public}, nil
}

// URL is the issuer URL, as in the iss claim and the discovery document.
func (i *Issuer) URL() string { return i.url }

// KeyID is the id of the signing key, as in each token's kid header and the JWKS.
func (i *Issuer) KeyID() string { return i.public.KeyID }

// Request is what a token is minted for.
type Request struct {
	Subject string
	Roles   []string
	// TTL is the token's lifetime; zero means DefaultTTL.
	TTL time.Duration
}

// Token is a minted token, shaped as an OAuth 2.0 token response (RFC 6749 §5.1).
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// Mint signs a token for r: iss, aud, sub, iat, nbf, exp and, when r has roles, the roles claim.
func (i *Issuer) Mint(r Request) (Token, error) {
	if err := r.validate(); err != nil {
		return Token{}, err
	}
	ttl := r.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	now := time.Now()
	claims := map[string]any{
		"iss": i.url,
		"aud": i.audience,
		"sub": r.Subject,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	if len(r.Roles) > 0 {
		claims[RoleClaim] = r.Roles
	}
	raw, err := i.Sign(claims)
	if err != nil {
		return Token{}, err
	}
	return Token{AccessToken: raw, TokenType: "Bearer", ExpiresIn: int64(ttl.Seconds())}, nil
}

// Sign signs any claims with the issuer's key, as they are: callers that need a token Mint would refuse (an
// expired one, another audience) use it.
func (i *Issuer) Sign(claims any) (string, error) {
	raw, err := jwt.Signed(i.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return raw, nil
}

func (r Request) validate() error {
	switch {
	case r.Subject == "":
		return errors.New("sub is required")
	case len(r.Subject) > maxSubject:
		return fmt.Errorf("sub must be at most %d bytes", maxSubject)
	case r.TTL < 0 || r.TTL > MaxTTL:
		return fmt.Errorf("ttl must be between 1s and %s", MaxTTL)
	}
	for _, role := range r.Roles {
		if strings.TrimSpace(role) == "" {
			return errors.New("roles must not be empty strings")
		}
	}
	return nil
}

// Handler serves GET /.well-known/openid-configuration, GET /jwks.json, POST /token, and the login of the
// authorization code flow, GET and POST /authorize (authorize.go).
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /jwks.json", i.jwks)
	mux.HandleFunc("POST /token", i.token)
	mux.HandleFunc("GET /authorize", i.authorizePage)
	mux.HandleFunc("POST /authorize", i.authorizeSubmit)
	return mux
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.url,
		"jwks_uri":                              i.url + "/jwks.json",
		"token_endpoint":                        i.url + "/token",
		"authorization_endpoint":                i.url + "/authorize",
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
		"subject_types_supported":               []string{"public"},
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid"},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic", "client_secret_post"},
		"claims_supported":                      []string{"iss", "aud", "sub", "iat", "exp", "nonce", RoleClaim},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.public}})
}

// tokenRequest is POST /token's JSON body; a form body has the same fields, roles repeated.
type tokenRequest struct {
	Sub   string   `json:"sub"`
	Roles []string `json:"roles"`
	// TTL is a Go duration ("15m", "2h").
	TTL string `json:"ttl"`
}

// token answers POST /token: the authorization code grant (grant_type=authorization_code, from a client that
// logged someone in at /authorize), or else the development shortcut that mints a token for the subject and
// roles in the body (tools/token, the tests).
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			tokenError(w, "invalid_request", "invalid form body: "+err.Error())
			return
		}
		switch grant := r.PostForm.Get("grant_type"); grant {
		case "authorization_code":
			i.exchange(w, r)
			return
		case "":
		default:
			tokenError(w, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported (authorization_code is)", grant))
			return
		}
	}
	req, err := parseTokenRequest(r)
	if err == nil {
		var tok Token
		if tok, err = i.Mint(req); err == nil {
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, tok)
			return
		}
	}
	// The error shape of an OAuth 2.0 token endpoint (RFC 6749 §5.2).
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": err.Error()})
}

func parseTokenRequest(r *http.Request) (Request, error) {
	var body tokenRequest
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch media {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return Request{}, fmt.Errorf("invalid JSON body: %w", err)
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return Request{}, fmt.Errorf("invalid form body: %w", err)
		}
		body = tokenRequest{Sub: r.PostForm.Get("sub"), Roles: r.PostForm["roles"], TTL: r.PostForm.Get("ttl")}
	default:
		return Request{}, errors.New("the body must be application/json or application/x-www-form-urlencoded (Content-Type)")
	}
	req := Request{Subject: body.Sub, Roles: body.Roles}
	if body.TTL != "" {
		ttl, err := time.ParseDuration(body.TTL)
		if err != nil || ttl <= 0 {
			return Request{}, fmt.Errorf("ttl must be a positive duration such as 15m or 2h, got %q", body.TTL)
		}
		req.TTL = ttl
	}
	return req, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
