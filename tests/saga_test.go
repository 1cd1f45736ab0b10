package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/tests/harness"
)

const settle = 30 * time.Second

func TestHappyPathShipsWithLabelEmailsAndCommittedStock(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	scenarioHappyPath(t, s)
	s.verify(t)
}

func TestRejectedOrders(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "LAST", 500, 1)
	tests := []struct {
		name   string
		body   map[string]any
		reason string
	}{
		{"unknown sku", orderBody("tok_visa", "NOPE", 1), "NOPE is not in the catalog"},
		{"not enough stock", orderBody("tok_visa", "LAST", 2), "LAST: 2 requested, 1 available"},
		{"one good line does not save a bad one", orderBody("tok_visa", "LAST", 1, "NOPE", 1), "NOPE is not in the catalog"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			placed := s.place(t, tc.body)
			o := s.await(t, placed.ID, "REJECTED", settle)
			assert.Contains(t, o.Reason, tc.reason)
			s.awaitEmails(t, o.ID, "order.placed", "stock.rejected")
			_, charged := s.providerCharge(t, o.ID)
			assert.False(t, charged, "a rejected order is never charged")
		})
	}
	assert.Equal(t, 1, s.product(t, "LAST").Available, "rejections hold nothing")
	s.verify(t)
}

func TestPaymentFailuresReleaseTheStock(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "MUG", 899, 5)
	s.stock(t, "GOLD", 2_000_000, 5)
	tests := []struct {
		name, token, sku string
		reason           string
		attempts         int
	}{
		{name: "declined card", token: "tok_declined", sku: "MUG", reason: "declined", attempts: 1},
		{name: "insufficient funds", token: "tok_insufficient_funds", sku: "MUG", reason: "insufficient funds", attempts: 1},
		{name: "over the card limit", token: "tok_visa", sku: "GOLD", reason: "limit", attempts: 1},
		// tok_timeout never answers: the card-provider binding's 1s timeout and 2 retries (Resiliency) apply,
		// then payments gives up and the order fails.
		{name: "provider timeout after retries", token: "tok_timeout", sku: "MUG", reason: "did not answer in time", attempts: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			placed := s.place(t, orderBody(tc.token, tc.sku, 1))
			o := s.await(t, placed.ID, "PAYMENT_FAILED", settle)
			assert.Contains(t, o.Reason, tc.reason)
			require.Eventually(t, func() bool { return s.order(t, o.ID).StockReleasedAt != nil }, settle, 100*time.Millisecond)
			c, _ := s.providerCharge(t, o.ID)
			assert.Equal(t, tc.attempts, c.Attempts, "calls the provider saw")
			s.awaitEmails(t, o.ID, "order.placed", "payment.failed")
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			assert.Equal(t, 5, s.product(t, "MUG").Available, "every failed payment gave its stock back")
			s.verify(t)
		}
	})
}

func TestTransientProviderFailureRecoversUnderTheRetryPolicy(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "MUG", 899, 5)
	// tok_unavailable_once: the provider answers 503 to the first attempt. The card-provider binding's retry
	// policy (components/shared/resiliency.yaml) retries inside the sidecar and the payment succeeds.
	o := s.await(t, s.place(t, orderBody("tok_unavailable_once", "MUG", 1)).ID, "SHIPPED", settle)
	c, ok := s.providerCharge(t, o.ID)
	require.True(t, ok)
	assert.Equal(t, 2, c.Attempts, "the sidecar retried the failed call once")
	assert.Equal(t, "succeeded", c.Status)
	s.verify(t)
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	t.Run("before payment voids the charge and releases the stock", func(t *testing.T) {
		t.Parallel()
		s := startSaga(t, harness.Options{Env: failpoints("payments", "payments.before-charge=sleep(3s)")})
		s.stock(t, "MUG", 899, 3)
		o := s.await(t, s.place(t, orderBody("tok_visa", "MUG", 2)).ID, "RESERVED", settle)
		r := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders/"+o.ID+"/cancel", nil, nil)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))

		o = s.await(t, o.ID, "CANCELLED", settle)
		require.Eventually(t, func() bool { return s.order(t, o.ID).StockReleasedAt != nil }, settle, 100*time.Millisecond)
		var pay struct{ Status string }
		require.Eventually(t, func() bool {
			return s.getJSON(t, "payments", "/v1/payments/"+o.ID, &pay) == http.StatusOK && pay.Status == "VOIDED"
		}, settle, 100*time.Millisecond)
		// The stock.reserved delivery the failpoint holds back reaches payments after the void: wait until
		// payments has handled it, then check it charged nothing.
		s.AwaitAppLog(t, "payments", settle, "event handled", "event_id="+o.ID+"/stock.reserved")
		_, charged := s.providerCharge(t, o.ID)
		assert.False(t, charged, "a voided order is never charged")
		assert.Equal(t, 3, s.product(t, "MUG").Available)
		s.awaitEmails(t, o.ID, "order.placed", "order.cancelled")
		s.verify(t)
	})
	t.Run("after payment refunds", func(t *testing.T) {
		t.Parallel()
		s := startSaga(t, harness.Options{Env: failpoints("shipping", "shipping.before-dispatch=sleep(3s)")})
		s.stock(t, "MUG", 899, 3)
		o := s.await(t, s.place(t, orderBody("tok_visa", "MUG", 1)).ID, "PAID", settle)
		r := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders/"+o.ID+"/cancel", nil, nil)
		require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))

		o = s.await(t, o.ID, "CANCELLED", settle)
		require.Eventually(t, func() bool { o = s.order(t, o.ID); return o.RefundedAt != nil && o.StockReleasedAt != nil },
			settle, 100*time.Millisecond)
		var pay struct{ Status string }
		require.Equal(t, http.StatusOK, s.getJSON(t, "payments", "/v1/payments/"+o.ID, &pay))
		assert.Equal(t, "REFUNDED", pay.Status)
		var sh struct{ Status, Reason string }
		require.Equal(t, http.StatusOK, s.getJSON(t, "shipping", "/v1/shipments/"+o.ID, &sh))
		assert.Equal(t, "CANCELLED", sh.Status, "the delayed dispatch found the order stopped")
		// The held-back payment.succeeded delivery reaches shipping after the stop: wait until shipping has
		// handled it, then check it wrote no label.
		s.AwaitAppLog(t, "shipping", settle, "event handled", "event_id="+o.ID+"/payment.succeeded")
		_, err := os.Stat(filepath.Join(s.DataDir, "labels", o.ID+".json"))
		assert.True(t, os.IsNotExist(err), "no label for a cancelled order")
		s.awaitEmails(t, o.ID, "order.placed", "order.cancelled", "payment.refunded")
		s.verify(t)
	})
	t.Run("after shipping conflicts", func(t *testing.T) {
		t.Parallel()
		s := startSaga(t, harness.Options{})
		s.stock(t, "MUG", 899, 3)
		o := s.await(t, s.place(t, orderBody("tok_visa", "MUG", 1)).ID, "SHIPPED", settle)
		r := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders/"+o.ID+"/cancel", nil, nil)
		require.Equal(t, http.StatusConflict, r.Status, string(r.Body))
		assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
		assert.Equal(t, "SHIPPED", s.order(t, o.ID).Status)
		s.verify(t)
	})
}

func TestUnpaidReservationExpires(t *testing.T) {
	t.Parallel()
	// Payments is held up longer than the reservation's TTL; the cron binding's sweep expires it.
	s := startSaga(t, harness.Options{Env: map[string]map[string]string{
		"inventory": {"RESERVATION_TTL": "2s"},
		"payments":  {"FAILPOINTS": "payments.before-charge=sleep(8s)"},
	}})
	s.stock(t, "MUG", 899, 4)
	o := s.await(t, s.place(t, orderBody("tok_visa", "MUG", 3)).ID, "RESERVED", settle)
	assert.Equal(t, 1, s.product(t, "MUG").Available)

	o = s.await(t, o.ID, "EXPIRED", settle)
	assert.Equal(t, "reservation_expired", o.Reason)
	require.Eventually(t, func() bool { return s.product(t, "MUG").Available == 4 }, settle, 100*time.Millisecond)
	var res struct{ Status string }
	require.Equal(t, http.StatusOK, s.getJSON(t, "inventory", "/v1/reservations/"+o.ID, &res))
	assert.Equal(t, "RELEASED", res.Status)
	var pay struct{ Status string }
	require.Eventually(t, func() bool {
		return s.getJSON(t, "payments", "/v1/payments/"+o.ID, &pay) == http.StatusOK && pay.Status == "VOIDED"
	}, settle, 100*time.Millisecond)
	s.awaitEmails(t, o.ID, "order.placed", "order.cancelled")
	s.verify(t)
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "MUG", 899, 10)
	key := map[string]string{"Idempotency-Key": "checkout-7f3a"}
	first := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders", orderBody("tok_visa", "MUG", 1), key)
	require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
	var o sagaOrder
	first.JSON(t, &o)
	s.track(o.ID)

	replay := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders", orderBody("tok_visa", "MUG", 1), key)
	require.Equal(t, http.StatusOK, replay.Status, string(replay.Body))
	assert.Equal(t, first.Header.Get("Location"), replay.Header.Get("Location"))

	conflict := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders", orderBody("tok_visa", "MUG", 2), key)
	require.Equal(t, http.StatusConflict, conflict.Status, string(conflict.Body))
	assert.Contains(t, string(conflict.Body), `"field":"Idempotency-Key"`)

	s.await(t, o.ID, "SHIPPED", settle)
	var list struct{ Orders []sagaOrder }
	require.Equal(t, http.StatusOK, s.getJSON(t, "orders", "/v1/orders?customerId=c-42", &list))
	assert.Len(t, list.Orders, 1, "the replay created no second order")
	assert.Equal(t, 9, s.product(t, "MUG").Available)
	s.verify(t)
}

func TestSameCloudEventTwiceHasOneEffect(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	scenarioDuplicateDelivery(t, s)
	s.verify(t)
}

func TestConcurrentOrdersNeverOversell(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "LAST5", 1000, 5)
	// The goroutines only send: failing the test is for its own goroutine, which checks every answer after.
	type answer struct {
		r   harness.Response
		err error
	}
	ordersURL := s.url(t, "orders") + "/v1/orders"
	var wg sync.WaitGroup
	answers := make(chan answer, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := harness.Send(http.MethodPost, ordersURL, orderBody("tok_visa", "LAST5", 1), nil)
			answers <- answer{r, err}
		}()
	}
	wg.Wait()
	close(answers)
	var ids []string
	for a := range answers {
		require.NoError(t, a.err)
		ids = append(ids, s.placed(t, a.r).ID)
	}
	counts := map[string]int{}
	for _, id := range ids {
		counts[s.awaitTerminal(t, id, settle).Status]++
	}
	assert.Equal(t, map[string]int{"SHIPPED": 5, "REJECTED": 15}, counts)
	s.awaitProduct(t, product{SKU: "LAST5", Name: "Test LAST5", PriceCents: 1000, Available: 0, Committed: 5})
	s.verify(t)
}

func TestMalformedEventGoesToDeadLetterAndNothingCrashes(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	scenarioDeadLetter(t, s)
	s.verify(t)
}

func TestInvalidRequestsGetProblemJSON(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{Apps: []string{"orders", "inventory"}})
	tests := []struct {
		name, method, app, path string
		body                    any
		status                  int
		field                   string
	}{
		{"malformed order JSON", http.MethodPost, "orders", "/v1/orders", `{"items":`, http.StatusBadRequest, "body"},
		{"order without items", http.MethodPost, "orders", "/v1/orders", orderBody("tok_visa"), http.StatusBadRequest, "items"},
		{"negative quantity", http.MethodPost, "orders", "/v1/orders", orderBody("tok_visa", "MUG", -1), http.StatusBadRequest, "items[0].quantity"},
		{"unknown order", http.MethodGet, "orders", "/v1/orders/does-not-exist", nil, http.StatusNotFound, ""},
		{"another customer's list", http.MethodGet, "orders", "/v1/orders?customerId=c-7", nil, http.StatusForbidden, "customerId"},
		{"product with negative price", http.MethodPut, "inventory", "/v1/products/MUG", map[string]any{"name": "Mug", "priceCents": -1, "available": 1}, http.StatusBadRequest, "priceCents"},
		{"product with a bad sku", http.MethodPut, "inventory", "/v1/products/bad%20sku", map[string]any{"name": "Mug", "priceCents": 1, "available": 1}, http.StatusBadRequest, "sku"},
		{"unknown product", http.MethodGet, "inventory", "/v1/products/NOPE", nil, http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := harness.Do(t, tc.method, s.url(t, tc.app)+tc.path, tc.body, nil)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
			var p struct {
				Status int    `json:"status"`
				Field  string `json:"field"`
				Detail string `json:"detail"`
			}
			r.JSON(t, &p)
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, tc.field, p.Field)
			assert.NotEmpty(t, p.Detail)
		})
	}
}

func TestCrashBetweenWriteAndPublishStillCompletes(t *testing.T) {
	t.Parallel()
	t.Run("inventory dies after recording the reservation", func(t *testing.T) {
		t.Parallel()
		s := startSaga(t, harness.Options{Env: failpoints("inventory", "inventory.after-reserve=crash")})
		s.stock(t, "MUG", 899, 5)
		o := s.place(t, orderBody("tok_visa", "MUG", 2))
		inventory := s.App(t, "inventory")
		require.True(t, inventory.AppExited(settle), "the failpoint crashed inventory between its write and its publish")
		require.NoError(t, inventory.Restart(t.Context(), map[string]string{"FAILPOINTS": ""}))
		s.await(t, o.ID, "SHIPPED", settle)
		assert.Equal(t, 3, s.product(t, "MUG").Available)
		s.verify(t)
	})
	t.Run("payments dies after charging, before recording", func(t *testing.T) {
		t.Parallel()
		s := startSaga(t, harness.Options{Env: failpoints("payments", "payments.after-charge=crash")})
		s.stock(t, "MUG", 899, 5)
		o := s.place(t, orderBody("tok_visa", "MUG", 1))
		payments := s.App(t, "payments")
		require.True(t, payments.AppExited(settle))
		require.NoError(t, payments.Restart(t.Context(), map[string]string{"FAILPOINTS": ""}))
		s.await(t, o.ID, "SHIPPED", settle)
		c, _ := s.providerCharge(t, o.ID)
		assert.Equal(t, "succeeded", c.Status)
		assert.Equal(t, 2, c.Attempts, "the redelivery asked again with the same idempotency key")
		s.verify(t)
	})
	t.Run("orders dies after announcing, before storing", func(t *testing.T) {
		t.Parallel()
		s := startSaga(t, harness.Options{Env: failpoints("orders", "orders.after-announce=crash")})
		s.stock(t, "MUG", 899, 5)
		body := mustJSON(t, orderBody("tok_visa", "MUG", 1))
		req, err := http.NewRequest(http.MethodPost, s.url(t, "orders")+"/v1/orders", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "crash-1")
		req.Header.Set("Authorization", "Bearer "+s.Token(t, harness.DefaultCustomer))
		_, err = http.DefaultClient.Do(req)
		require.Error(t, err, "the client sees the connection drop")
		orders := s.App(t, "orders")
		require.True(t, orders.AppExited(settle))
		require.NoError(t, orders.Restart(t.Context(), map[string]string{"FAILPOINTS": ""}))

		// The order was announced before the crash: the rest of the saga went on, and orders stored it from its
		// own event. The client retries with its Idempotency-Key and gets that order back.
		retry := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders", body, map[string]string{"Idempotency-Key": "crash-1"})
		require.Equal(t, http.StatusOK, retry.Status, string(retry.Body))
		var o sagaOrder
		retry.JSON(t, &o)
		s.track(o.ID)
		s.await(t, o.ID, "SHIPPED", settle)
		// The customer's index is written by that order.placed delivery, which the crash pushed into the
		// sidecar's retry backoff: it can land after SHIPPED.
		var list struct{ Orders []sagaOrder }
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			list.Orders = nil
			require.Equal(c, http.StatusOK, s.getJSON(t, "orders", "/v1/orders?customerId=c-42", &list))
			require.NotEmpty(c, list.Orders)
		}, settle, 100*time.Millisecond, "the order is listed for its customer")
		require.Len(t, list.Orders, 1, "one order, listed for its customer")
		assert.Equal(t, o.ID, list.Orders[0].ID)
		s.verify(t)
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
