package tests

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/tests/harness"
)

type overdueList struct {
	Overdue int `json:"overdue"`
	Stuck   int `json:"stuck"`
	Orders  []struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Redrives int    `json:"redrives"`
		Stuck    bool   `json:"stuck"`
	} `json:"orders"`
}

// overdue returns the order's entry in orders' overdue listing, if it is listed.
func (s *saga) overdue(t *testing.T, orderID string) (status string, listed bool) {
	t.Helper()
	var l overdueList
	// The listing is an operator's.
	r := harness.Do(t, http.MethodGet, s.url(t, "orders")+"/v1/orders/overdue", nil, s.Bearer(t, harness.DefaultOperator, harness.AdminRole))
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r.JSON(t, &l)
	for _, o := range l.Orders {
		if o.ID == orderID {
			return o.Status, true
		}
	}
	return "", false
}

// TestSLARedrivesAnOrderWhoseEventWasLost: an order.placed reaches orders alone — delivered straight to its
// route, as if every other subscriber's delivery had been dead-lettered — so orders stores a PENDING order that
// nobody works on. With ORDER_SLA=3s and the sweep every second, the order must be listed as overdue, then
// re-driven (its order.placed published again under the same id) and shipped. Inventory is held back 2 s per
// order.placed so the order stays PENDING, and listed, long enough to be seen there.
func TestSLARedrivesAnOrderWhoseEventWasLost(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{
		Env: map[string]map[string]string{
			"orders":    {"ORDER_SLA": "3s"},
			"inventory": {"FAILPOINTS": "inventory.before-reserve=sleep(2s)"},
		},
		Overrides: map[string]map[string]string{"order-sla": {"schedule": "@every 1s"}},
	})
	s.stock(t, "SLA1", 1200, 3)
	orderID := "sla-" + s.Suffix
	raw := orderPlacedEvent(t, orderID, "orders", "SLA1", 1)
	s.track(orderID)
	body, err := postCloudEvent(s.url(t, "orders")+"/events/order.placed", s.AppAPIToken, raw)
	require.NoError(t, err)
	require.True(t, bytes.Contains(body, []byte(`"SUCCESS"`)), "orders stored the order: %s", body)
	assert.Equal(t, "PENDING", s.order(t, orderID).Status)

	require.Eventually(t, func() bool {
		status, listed := s.overdue(t, orderID)
		return listed && status == "PENDING"
	}, 20*time.Second, 100*time.Millisecond, "the PENDING order is listed as overdue once past the 3 s SLA")

	redriven := s.Spy.WaitFor(t, "order.placed", 20*time.Second, func(e harness.Envelope) bool { return e.Subject == orderID })
	assert.Equal(t, orderID+"/order.placed", redriven.ID, "the re-drive keeps the event's deterministic id")
	o := s.awaitShippedInFull(t, orderID)
	assert.Equal(t, []string{"PENDING", "RESERVED", "PAID", "SHIPPED"}, o.statuses())
	_, listed := s.overdue(t, orderID)
	assert.False(t, listed, "a shipped order is no longer overdue")
	s.awaitProduct(t, product{SKU: "SLA1", Name: "Test SLA1", PriceCents: 1200, Available: 2, Committed: 1})
	s.verify(t)
}
