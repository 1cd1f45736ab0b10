package tests

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/tests/harness"
)

// Scenarios shared by the Redis suite and the profile matrix (profiles_test.go). Each uses its own SKUs and
// orders, so several can run against one system; the caller runs s.verify(t) at the end.

func scenarioHappyPath(t *testing.T, s *saga) {
	t.Helper()
	s.stock(t, "MUG", 899, 10)
	s.stock(t, "BEANS", 1999, 10)
	placed := s.place(t, orderBody("tok_visa", "MUG", 2, "BEANS", 1))
	assert.Equal(t, "PENDING", placed.Status)

	o := s.awaitShippedInFull(t, placed.ID)
	assert.Equal(t, []string{"PENDING", "RESERVED", "PAID", "SHIPPED"}, o.statuses())
	require.NotNil(t, o.TotalCents)
	assert.EqualValues(t, 2*899+1999, *o.TotalCents)
	require.NotNil(t, o.Shipment)

	var pay struct {
		Status      string `json:"status"`
		AmountCents int64  `json:"amountCents"`
	}
	require.Equal(t, http.StatusOK, s.getJSON(t, "payments", "/v1/payments/"+o.ID, &pay))
	assert.Equal(t, "CHARGED", pay.Status)
	assert.EqualValues(t, *o.TotalCents, pay.AmountCents)

	label, err := os.ReadFile(filepath.Join(s.DataDir, "labels", o.ID+".json"))
	require.NoError(t, err, "the label went through the shipping-labels binding")
	assert.Contains(t, string(label), o.Shipment.TrackingNumber)
	s.awaitEmails(t, o.ID, "order.placed", "shipment.dispatched")
	s.awaitProduct(t, product{SKU: "MUG", Name: "Test MUG", PriceCents: 899, Available: 8, Committed: 2})
}

func scenarioRejection(t *testing.T, s *saga) {
	t.Helper()
	s.stock(t, "ONE", 500, 1)
	unknown := s.await(t, s.place(t, orderBody("tok_visa", "GHOST", 1)).ID, "REJECTED", settle)
	assert.Contains(t, unknown.Reason, "GHOST is not in the catalog")
	short := s.await(t, s.place(t, orderBody("tok_visa", "ONE", 2)).ID, "REJECTED", settle)
	assert.Contains(t, short.Reason, "ONE: 2 requested, 1 available")
	assert.Equal(t, 1, s.product(t, "ONE").Available, "rejections hold nothing")
}

func scenarioPaymentFailureCompensates(t *testing.T, s *saga) {
	t.Helper()
	s.stock(t, "CUP", 899, 4)
	o := s.await(t, s.place(t, orderBody("tok_declined", "CUP", 3)).ID, "PAYMENT_FAILED", settle)
	assert.Contains(t, o.Reason, "declined")
	require.Eventually(t, func() bool { return s.product(t, "CUP").Available == 4 }, settle, 100*time.Millisecond,
		"the reserved stock went back")
	s.awaitEmails(t, o.ID, "order.placed", "payment.failed")
}

func scenarioDuplicateDelivery(t *testing.T, s *saga) {
	t.Helper()
	s.stock(t, "DUP", 899, 10)
	orderID := "dup-" + s.Suffix
	raw := orderPlacedEvent(t, orderID, "tests", "DUP", 3)
	s.track(orderID)
	s.Spy.Publish(t, "order.placed", raw)
	s.Spy.Publish(t, "order.placed", raw)

	o := s.awaitShippedInFull(t, orderID)
	assert.Equal(t, []string{"PENDING", "RESERVED", "PAID", "SHIPPED"}, o.statuses())
	var pay struct {
		Status      string `json:"status"`
		AmountCents int64  `json:"amountCents"`
	}
	require.Equal(t, http.StatusOK, s.getJSON(t, "payments", "/v1/payments/"+orderID, &pay))
	assert.Equal(t, "CHARGED", pay.Status)
	assert.EqualValues(t, 3*899, pay.AmountCents, "charged once, for the one reservation")
	s.awaitProduct(t, product{SKU: "DUP", Name: "Test DUP", PriceCents: 899, Available: 7, Committed: 3})
	s.awaitEmails(t, orderID, "order.placed", "shipment.dispatched")
}

func scenarioDeadLetter(t *testing.T, s *saga) {
	t.Helper()
	id := "bad-" + s.Suffix
	bad := []byte(`{"specversion":"1.0","id":"` + id + `","source":"tests","type":"orderflow.order.placed.v1",` +
		`"datacontenttype":"application/json","data":{"orderId":"","items":"not-a-list"}}`)
	s.Spy.Publish(t, "order.placed", bad)
	for _, dlq := range []string{"inventory.deadletter", "orders.deadletter", "notifications.deadletter"} {
		e := s.Spy.WaitFor(t, dlq, settle, func(e harness.Envelope) bool { return e.ID == id })
		assert.Equal(t, "orderflow.order.placed.v1", e.Type, "the original event is kept on %s", dlq)
	}
	for _, app := range []string{"orders", "inventory", "notifications"} {
		r := harness.Do(t, http.MethodGet, s.url(t, app)+"/readyz", nil, nil)
		assert.Equal(t, http.StatusOK, r.Status, "%s is still ready", app)
	}
	s.stock(t, "AFTER", 100, 1)
	s.await(t, s.place(t, orderBody("tok_visa", "AFTER", 1)).ID, "SHIPPED", settle)
}
