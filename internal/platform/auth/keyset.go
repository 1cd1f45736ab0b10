package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// keySet verifies token signatures with the issuer's JWKS, fetching it again when a token names a key id it
// does not hold (how providers rotate keys), at most once per minInterval.
//
// Written here rather than taken from go-oidc (oidc.RemoteKeySet), which follows the same strategy, for two
// reasons. RemoteKeySet hands a finished fetch's keys to the callers waiting on it before it stores them, and
// callers arriving in between join the finished fetch: for a moment after every refresh a token signed with
// a just-rotated key is refused and a retired key still accepted (seen as a flaky rotation test under -race).
// And it fetches again for every token with an unknown key id, so made-up key ids cost the provider one
// request each; here they cost at most one per minInterval per replica.
type keySet struct {
	client      *http.Client
	url         string
	minInterval time.Duration
	fetches     singleflight.Group

	mu      sync.RWMutex
	keys    []jose.JSONWebKey
	fetched time.Time
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, signingAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.RLock()
	cached := k.keys
	k.mu.RUnlock()
	if payload, ok := verifyWith(jws, kid, cached); ok {
		return payload, nil
	}
	keys, err := k.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, kid, keys); ok {
		return payload, nil
	}
	return nil, fmt.Errorf("no key of the issuer (key id %q) verifies the signature", kid)
}

// verifyWith verifies jws with the key called kid, or with any key when the token names none.
func verifyWith(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) ([]byte, bool) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh fetches the JWKS unless it was fetched less than minInterval ago (then it returns the cached keys).
// Concurrent callers share one fetch, whose keys are stored before any of them sees them.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.RLock()
	keys, recent := k.keys, !k.fetched.IsZero() && time.Since(k.fetched) < k.minInterval
	k.mu.RUnlock()
	if recent {
		return keys, nil
	}
	// The fetch outlives a caller that gives up, so the callers still waiting on it get its answer.
	result := k.fetches.DoChan("jwks", func() (any, error) {
		keys, err := k.fetch(context.WithoutCancel(ctx))
		k.mu.Lock()
		defer k.mu.Unlock()
		k.fetched = time.Now()
		if err != nil {
			return nil, err
		}
		k.keys = keys
		return keys, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-result:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]jose.JSONWebKey), nil
	}
}

// fetch reads the JWKS, keeping the public signing keys it can use and skipping the others (a provider may
// publish keys of algorithms this service does not accept, such as ES256K, beside the ones it signs with).
func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("JWKS request for %s: %w", k.url, err)
	}
	req.Header.Set("Accept", "application/json")
	// Past any cache between here and the provider: a fetch means a key id was not in the last answer.
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS at %s: %w", k.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the JWKS at %s: %w", k.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWKS at %s: %s", k.url, resp.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decoding the JWKS at %s: %w", k.url, err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if json.Unmarshal(raw, &key) != nil || !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue
		}
		keys = append(keys, key)
	}
	return keys, nil
}
