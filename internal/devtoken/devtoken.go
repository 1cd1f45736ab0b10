// Package devtoken asks the development issuer (apps/devissuer) for bearer tokens: the client side of its
// POST /token, shared by tools/token, the tools that call the APIs locally (loadgen, bench, deadletters) and
// the integration harness. Tokens come from the issuer itself, so they are signed with the key the services
// fetch from its JWKS: there is no test-only path into the services.
package devtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultIssuer is where `make run` starts the development issuer.
const DefaultIssuer = "http://127.0.0.1:8088"

// Mint returns a token for sub with roles, valid for ttl (zero: the issuer's default), from the development
// issuer at issuerURL.
func Mint(ctx context.Context, client *http.Client, issuerURL, sub string, ttl time.Duration, roles ...string) (string, error) {
	form := url.Values{"sub": {sub}, "roles": roles}
	if ttl > 0 {
		form.Set("ttl", ttl.String())
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	endpoint := strings.TrimSuffix(issuerURL, "/") + "/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("issuer %q: %w", issuerURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("no development issuer answered at %s: start the system with make run first (%w)", issuerURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading the issuer's answer: %w", err)
	}
	var answer struct {
		AccessToken      string `json:"access_token"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || (resp.StatusCode == http.StatusOK && answer.AccessToken == "") {
		return "", fmt.Errorf("%s did not answer like the development issuer (HTTP %d): is the issuer URL right?", endpoint, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the issuer refused: %s", answer.ErrorDescription)
	}
	return answer.AccessToken, nil
}

// Source mints tokens from one issuer and keeps each until it is close to expiring, so a client sending many
// requests (a load run, a test) asks the issuer once per subject rather than once per request.
type Source struct {
	Issuer string
	Client *http.Client

	mu     sync.Mutex
	tokens map[string]cached
}

type cached struct {
	token   string
	renewAt time.Time
}

// ttl is how long a Source's tokens last; renewing at half of it leaves a request that just got one an
// ample margin.
const ttl = 2 * time.Hour

// Token returns a token for sub with roles.
func (s *Source) Token(ctx context.Context, sub string, roles ...string) (string, error) {
	key := sub + "\x00" + strings.Join(roles, "\x00")
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.tokens[key]; ok && time.Now().Before(c.renewAt) {
		return c.token, nil
	}
	tok, err := Mint(ctx, s.Client, s.Issuer, sub, ttl, roles...)
	if err != nil {
		return "", err
	}
	if s.tokens == nil {
		s.tokens = map[string]cached{}
	}
	s.tokens[key] = cached{token: tok, renewAt: time.Now().Add(ttl / 2)}
	return tok, nil
}
