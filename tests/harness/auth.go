package harness

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"testing"
)

// authenticatedApps are the apps whose /v1 APIs take bearer tokens from the run's development issuer. A run
// with any of them also runs devissuer (Start adds it to a partial run).
var authenticatedApps = []string{"orders", "inventory", "deadletters"}

// Default callers: what Do sends each authenticated app when the test names no Authorization header. Orders'
// API is a customer's, c-42 (orderBody's customer); inventory's writes and deadletters are operators'.
const (
	DefaultCustomer = "c-42"
	DefaultOperator = "ops-test"
	AdminRole       = "admin"
)

// defaultAuth maps the host:port of every running System's authenticated apps to the token Do sends there
// by default. Do is a plain function called with URLs, and each System's apps have ports of their own, so the
// address tells which run's issuer (and which default caller) a request is for.
var defaultAuth sync.Map // host:port → func() (string, error)

// Token mints a bearer token for sub with roles from the run's development issuer, as a client of a real
// identity provider gets one: the services verify it through the issuer's discovery and JWKS.
func (s *System) Token(t testing.TB, sub string, roles ...string) string {
	t.Helper()
	tok, err := s.tokens.Token(context.Background(), sub, roles...)
	if err != nil {
		t.Fatalf("harness: minting a token for %s: %v", sub, err)
	}
	return tok
}

// Bearer is the Authorization header of a token for sub with roles, for Do's headers.
func (s *System) Bearer(t testing.TB, sub string, roles ...string) map[string]string {
	t.Helper()
	return map[string]string{"Authorization": "Bearer " + s.Token(t, sub, roles...)}
}

// withIssuer adds devissuer to a partial run that has an authenticated app (or the console, which signs people
// in there).
func withIssuer(only []string) []string {
	if len(only) == 0 || slices.Contains(only, "devissuer") || !slices.ContainsFunc(only, func(app string) bool {
		return slices.Contains(authenticatedApps, app) || app == ConsoleApp
	}) {
		return only
	}
	return append([]string{"devissuer"}, only...)
}

// registerDefaultAuth makes Do authenticate requests to the run's apps as their default callers, until the
// test ends.
func (s *System) registerDefaultAuth(t testing.TB) {
	for _, app := range authenticatedApps {
		a := s.System.App(app)
		if a == nil {
			continue
		}
		u, err := url.Parse(a.URL())
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		sub, roles := DefaultOperator, []string{AdminRole}
		if app == "orders" {
			sub, roles = DefaultCustomer, nil
		}
		defaultAuth.Store(u.Host, func() (string, error) { return s.tokens.Token(context.Background(), sub, roles...) })
		t.Cleanup(func() { defaultAuth.Delete(u.Host) })
	}
}

// defaultToken is the token Do sends to host when the test names none.
func defaultToken(host string) (string, bool, error) {
	f, ok := defaultAuth.Load(host)
	if !ok {
		return "", false, nil
	}
	tok, err := f.(func() (string, error))()
	return tok, true, err
}
