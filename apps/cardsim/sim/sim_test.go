package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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
		{"rate limited first", "tok_rate_limited", 100, http.StatusTooManyRequests, "", ""},
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
	tests := []struct {
		name, token string
		first       int
	}{
		{"503 once", "tok_unavailable_once", http.StatusServiceUnavailable},
		{"429 once", "tok_rate_limited", http.StatusTooManyRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := sim.New().Handler()
			status, _ := post(t, h, "/v1/charges", key, charge(tc.token, 100))
			require.Equal(t, tc.first, status)
			assert.Equal(t, http.StatusNotFound, lookup(t, h, "k-"+tc.token).status, "the refused attempt charged nothing")
			status, first := post(t, h, "/v1/charges", key, charge(tc.token, 100))
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "succeeded", first.Status)
			_, again := post(t, h, "/v1/charges", key, charge(tc.token, 100))
			assert.Equal(t, first.ID, again.ID, "the same key never charges twice")
			assert.Equal(t, 3, again.Attempts)
		})
	}
}

type lookedUp struct {
	status int
	charge sim.Charge
}

// lookup asks the status API what was decided under an idempotency key.
func lookup(t *testing.T, h http.Handler, idempotencyKey string) lookedUp {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/v1/charges?idempotencyKey="+url.QueryEscape(idempotencyKey), nil)
	req.Header.Set("Authorization", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var c sim.Charge
	_ = json.Unmarshal(rec.Body.Bytes(), &c)
	return lookedUp{status: rec.Code, charge: c}
}

func TestLookupByIdempotencyKey(t *testing.T) {
	t.Parallel()
	h := sim.New().Handler()
	_, approved := post(t, h, "/v1/charges", key, charge("tok_visa", 100))
	post(t, h, "/v1/charges", key, charge("tok_declined", 100))
	tests := []struct {
		name, key   string
		status      int
		outcome, id string
	}{
		{"approved", "k-tok_visa", http.StatusOK, "succeeded", approved.ID},
		{"declined", "k-tok_declined", http.StatusOK, "declined", ""},
		{"never charged", "k-nothing", http.StatusNotFound, "", ""},
		{"no key", "", http.StatusBadRequest, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := lookup(t, h, tc.key)
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, tc.outcome, got.charge.Status)
			if tc.id != "" {
				assert.Equal(t, tc.id, got.charge.ID)
			}
		})
	}
}

// postOver sends a charge over a real connection with a client timeout, as the sidecar's binding does.
func postOver(t *testing.T, srv *httptest.Server, body any, timeout time.Duration) error {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/charges", bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Authorization", key)
	resp, err := srv.Client().Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	return err
}

func TestChargedButUnanswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token string
		wantErr     error
	}{
		{"slow approval times the caller out", "tok_slow_approve", context.DeadlineExceeded},
		{"approval then dropped connection", "tok_approve_drop", io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := sim.New()
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			for attempt := 1; attempt <= 2; attempt++ {
				err := postOver(t, srv, charge(tc.token, 100), sim.SlowApproveDelay/3)
				require.ErrorIs(t, err, tc.wantErr, "attempt %d gets no answer", attempt)
			}
			got := lookup(t, s.Handler(), "k-"+tc.token)
			require.Equal(t, http.StatusOK, got.status, "the status API knows the charge")
			assert.Equal(t, "succeeded", got.charge.Status)
			assert.Equal(t, 2, got.charge.Attempts, "both attempts reached the provider, one charge")
		})
	}
}

func TestSlowApprovalAnswersAfterTheDelay(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(sim.New().Handler())
	defer srv.Close()
	start := time.Now()
	require.NoError(t, postOver(t, srv, charge("tok_slow_approve", 100), 2*sim.SlowApproveDelay))
	assert.GreaterOrEqual(t, time.Since(start), sim.SlowApproveDelay)
}

func TestAbandonedTimeoutChargesNothing(t *testing.T) {
	t.Parallel()
	s := sim.New()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	require.ErrorIs(t, postOver(t, srv, charge("tok_timeout", 100), 100*time.Millisecond), context.DeadlineExceeded)
	assert.Equal(t, http.StatusNotFound, lookup(t, s.Handler(), "k-tok_timeout").status)
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
