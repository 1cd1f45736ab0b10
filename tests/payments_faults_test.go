package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/tests/harness"
)

// TestChargedButUnansweredStillShips: the provider charges the card but payments never gets the answer —
// every attempt of the card-provider binding times out (tok_slow_approve) or has its connection dropped
// (tok_approve_drop). An unknown outcome is not a failure: payments asks the provider's status API, finds
// the charge, and the order ships, charged once.
func TestChargedButUnansweredStillShips(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "MUG", 899, 5)
	tests := []struct {
		name, token string
		attempts    int
	}{
		// 1 + 2 retries (Resiliency "card-provider"), each charged-and-lost under the same idempotency key.
		{name: "approval after the binding's timeout", token: "tok_slow_approve", attempts: 3},
		{name: "approval then a dropped connection", token: "tok_approve_drop", attempts: 3},
		// The 429 is retried inside the sidecar and the retry is answered.
		{name: "rate limited once", token: "tok_rate_limited", attempts: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := s.await(t, s.place(t, orderBody(tc.token, "MUG", 1)).ID, "SHIPPED", settle)
			assert.NotContains(t, o.statuses(), "PAYMENT_FAILED")

			var c struct {
				ID       string `json:"id"`
				Status   string `json:"status"`
				Attempts int    `json:"attempts"`
			}
			r := harness.Do(t, http.MethodGet, s.CardSimulator+"/v1/charges/"+o.ID, nil,
				map[string]string{"Authorization": "Bearer sk_test_orderflow_local_only"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			r.JSON(t, &c)
			assert.Equal(t, "succeeded", c.Status)
			assert.Equal(t, tc.attempts, c.Attempts, "charge requests the provider saw, all under one key")

			var pay struct{ Status, PaymentID string }
			require.Equal(t, http.StatusOK, s.getJSON(t, "payments", "/v1/payments/"+o.ID, &pay))
			assert.Equal(t, "CHARGED", pay.Status)
			assert.Equal(t, c.ID, pay.PaymentID, "the recorded payment is the provider's one charge")
			o = s.awaitShippedInFull(t, o.ID)
			assert.Equal(t, c.ID, o.PaymentID)
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			assert.Equal(t, 2, s.product(t, "MUG").Available)
			s.verify(t)
		}
	})
}

// TestBurstOfUnansweredChargesDoesNotStallPayments: many charges in a row whose answers never arrive (every
// binding attempt of each fails, though the provider is up and answering its status API) are not an outage.
// The card-provider circuit breaker must not open on them: while it is open, the status lookup that resolves
// them fails too, every redelivery's first call is again a charge that times out and re-opens it, and the
// orders — good cards included — stall until they are dead-lettered.
func TestBurstOfUnansweredChargesDoesNotStallPayments(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "MUG", 899, 30)
	var tokens []string
	for i := range 20 {
		tokens = append(tokens, []string{"tok_slow_approve", "tok_approve_drop", "tok_slow_approve", "tok_visa"}[i%4])
	}
	ids := make([]string, len(tokens))
	for i, token := range tokens {
		ids[i] = s.place(t, orderBody(token, "MUG", 1)).ID
	}
	for i, id := range ids {
		o := s.await(t, id, "SHIPPED", settle)
		assert.NotContains(t, o.statuses(), "PAYMENT_FAILED", tokens[i])
	}
	assert.Equal(t, 10, s.product(t, "MUG").Available)
	s.verify(t)
}

// TestChargeLostInACrashThenCancelledIsRefunded: payments charges the card and dies before recording the
// outcome; the customer cancels while it is down. The intent recorded before the charge makes the restarted
// payments look the charge up and refund it — never a VOIDED record with the money kept.
func TestChargeLostInACrashThenCancelledIsRefunded(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{Env: failpoints("payments", "payments.after-charge=crash")})
	s.stock(t, "MUG", 899, 5)
	o := s.place(t, orderBody("tok_visa", "MUG", 1))
	payments := s.App(t, "payments")
	require.True(t, payments.AppExited(settle), "the failpoint crashed payments between the charge and its record")

	r := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders/"+o.ID+"/cancel", nil, nil)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	s.await(t, o.ID, "CANCELLED", settle)
	// The restarted payments holds the redelivered stock.reserved back, so order.cancelled is handled first: the
	// order in which the old code voided the payment and kept the money.
	require.NoError(t, payments.Restart(t.Context(), map[string]string{"FAILPOINTS": "payments.before-charge=sleep(3s)"}))

	require.Eventually(t, func() bool { return s.order(t, o.ID).RefundedAt != nil }, settle, 100*time.Millisecond,
		"orders learns of the refund")
	var pay struct{ Status, PaymentID, RefundID string }
	require.Equal(t, http.StatusOK, s.getJSON(t, "payments", "/v1/payments/"+o.ID, &pay))
	assert.Equal(t, "REFUNDED", pay.Status)
	assert.NotEmpty(t, pay.RefundID)
	c, ok := s.providerCharge(t, o.ID)
	require.True(t, ok)
	assert.Equal(t, "succeeded", c.Status, "the card was charged before the crash")
	s.awaitEmails(t, o.ID, "order.placed", "order.cancelled", "payment.refunded")
	s.verify(t)
}
