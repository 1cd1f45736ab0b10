package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/cardsim/sim"
)

const key = "Bearer sk_test_0123456789"

func post(t *testing.T, h http.Handler, path, auth string, body any) (int, sim.Charge) {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
	req.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var c sim.Charge
	_ = json.Unmarshal(rec.Body.Bytes(), &c)
	return rec.Code, c
}

func charge(token string, cents int64) map[string]any {
	return map[string]any{"idempotencyKey": "k-" + token, "amountCents": cents, "currency": "USD", "cardToken": token}
}

func TestChargeRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token string
		cents       int64
		status      int
		outcome     string
		code        string
	}{
		{"visa approves", "tok_visa", 100, http.StatusOK, "succeeded", ""},
		{"mastercard approves", "tok_mastercard", 100, http.StatusOK, "succeeded", ""},
		{"declined", "tok_declined", 100, http.StatusOK, "declined", "card_declined"},
		{"insufficient funds", "tok_insufficient_funds", 100, http.StatusOK, "declined", "insufficient_funds"},
		{"over the limit", "tok_visa", sim.AmountLimitCents + 1, http.StatusOK, "declined", "amount_over_limit"},
		{"unknown token", "tok_nope", 100, http.StatusOK, "declined", "card_declined"},
		{"transient outage first", "tok_unavailable_once", 100, http.StatusServiceUnavailable, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, c := post(t, sim.New().Handler(), "/v1/charges", key, charge(tc.token, tc.cents))
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.outcome, c.Status)
			assert.Equal(t, tc.code, c.DeclineCode)
		})
	}
}

func TestIdempotencyAndRetry(t *testing.T) {
	t.Parallel()
	h := sim.New().Handler()
	status, _ := post(t, h, "/v1/charges", key, charge("tok_unavailable_once", 100))
	require.Equal(t, http.StatusServiceUnavailable, status)
	status, first := post(t, h, "/v1/charges", key, charge("tok_unavailable_once", 100))
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "succeeded", first.Status)
	_, again := post(t, h, "/v1/charges", key, charge("tok_unavailable_once", 100))
	assert.Equal(t, first.ID, again.ID, "the same key never charges twice")
	assert.Equal(t, 3, again.Attempts)
}

func TestTimeoutTokenWaitsForTheCaller(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(sim.New().Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	raw, _ := json.Marshal(charge("tok_timeout", 100))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/charges", bytes.NewReader(raw))
	req.Header.Set("Authorization", key)
	_, err := http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"", "Bearer", "Bearer sk_live_0123456789", "Bearer sk_test_"} {
		status, _ := post(t, sim.New().Handler(), "/v1/charges", auth, charge("tok_visa", 1))
		assert.Equal(t, http.StatusUnauthorized, status, "authorization %q", auth)
	}
}
