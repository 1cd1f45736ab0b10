package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/events"
	"orderflow/internal/events/eventschema"
	"orderflow/tests/harness"
)

var terminal = []string{"SHIPPED", "REJECTED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED"}

type sagaOrder struct {
	ID                string  `json:"id"`
	Status            string  `json:"status"`
	Reason            string  `json:"reason"`
	TotalCents        *int64  `json:"totalCents"`
	PaymentID         string  `json:"paymentId"`
	CancelRequestedAt *string `json:"cancelRequestedAt"`
	StockReleasedAt   *string `json:"stockReleasedAt"`
	RefundedAt        *string `json:"refundedAt"`
	Shipment          *struct {
		TrackingNumber string `json:"trackingNumber"`
	} `json:"shipment"`
	History []struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"history"`
}

func (o sagaOrder) statuses() []string {
	out := make([]string, len(o.History))
	for i, h := range o.History {
		out[i] = h.Status
	}
	return out
}

type product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int    `json:"available"`
	Reserved   int    `json:"reserved"`
	Committed  int    `json:"committed"`
}

// saga is one isolated orderflow plus what a scenario needs to check its invariants at the end.
type saga struct {
	*harness.System
	mu      sync.Mutex
	initial map[string]int
	orders  []string
}

func startSaga(t *testing.T, opts harness.Options) *saga {
	t.Helper()
	opts.Spy = true
	s := &saga{System: harness.Start(t, opts), initial: map[string]int{}}
	return s
}

func (s *saga) url(t *testing.T, app string) string {
	t.Helper()
	return s.App(t, app).URL()
}

// stock creates a product with a known starting quantity, which the invariant check then holds it to.
func (s *saga) stock(t *testing.T, sku string, priceCents int64, available int) {
	t.Helper()
	r := harness.Do(t, http.MethodPut, s.url(t, "inventory")+"/v1/products/"+sku,
		map[string]any{"name": "Test " + sku, "priceCents": priceCents, "available": available}, nil)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.Status, string(r.Body))
	s.mu.Lock()
	s.initial[sku] = available
	s.mu.Unlock()
}

func (s *saga) product(t *testing.T, sku string) product {
	t.Helper()
	r := harness.Do(t, http.MethodGet, s.url(t, "inventory")+"/v1/products/"+sku, nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var p product
	r.JSON(t, &p)
	return p
}

// awaitProduct waits until inventory shows want for its SKU. Orders and inventory consume the same events
// independently, so an order can read SHIPPED (or PAYMENT_FAILED) a moment before inventory has committed (or
// released) its stock: the product is eventually consistent, and the test waits for it rather than racing.
func (s *saga) awaitProduct(t *testing.T, want product) {
	t.Helper()
	var got product
	deadline := time.Now().Add(settle)
	for {
		if got = s.product(t, want.SKU); got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, want, got, "inventory's view of %s after %s", want.SKU, settle)
}

// orderPlacedEvent is the CloudEvent orders would publish for orderID (one line of sku, paid with tok_visa), as
// source says, for tests that deliver it themselves.
func orderPlacedEvent(t *testing.T, orderID, source, sku string, quantity int) []byte {
	t.Helper()
	at := time.Now().UTC()
	env, err := events.Wrap(events.New(events.OrderPlaced, orderID, at, events.OrderPlacedData{
		OrderID: orderID, CustomerID: "c-42", Email: "ada@example.com",
		Items: []events.Item{{SKU: sku, Quantity: quantity}}, Payment: events.PaymentMethod{CardToken: "tok_visa"}, PlacedAt: at,
	}), source, "")
	require.NoError(t, err)
	raw, err := json.Marshal(env)
	require.NoError(t, err)
	return raw
}

func orderBody(token string, items ...any) map[string]any {
	lines := make([]map[string]any, 0, len(items)/2)
	for i := 0; i+1 < len(items); i += 2 {
		lines = append(lines, map[string]any{"sku": items[i], "quantity": items[i+1]})
	}
	return map[string]any{"customerId": "c-42", "email": "ada@example.com", "items": lines, "payment": map[string]any{"cardToken": token}}
}

// place posts an order and remembers it for the invariant check.
func (s *saga) place(t *testing.T, body map[string]any) sagaOrder {
	t.Helper()
	return s.placed(t, harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders", body, nil))
}

// placed checks orders' answer to a posted order and remembers the order for the invariant check.
func (s *saga) placed(t *testing.T, r harness.Response) sagaOrder {
	t.Helper()
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	var o sagaOrder
	r.JSON(t, &o)
	s.track(o.ID)
	return o
}

func (s *saga) track(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders = append(s.orders, id)
}

func (s *saga) order(t *testing.T, id string) sagaOrder {
	t.Helper()
	r := harness.Do(t, http.MethodGet, s.url(t, "orders")+"/v1/orders/"+id, nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var o sagaOrder
	r.JSON(t, &o)
	return o
}

// await waits until the order reaches status (or any terminal status, which fails the test if it is not
// the one wanted).
func (s *saga) await(t *testing.T, id, status string, timeout time.Duration) sagaOrder {
	t.Helper()
	o := s.awaitUntil(t, id, timeout, func(o sagaOrder) bool { return o.Status == status || slices.Contains(terminal, o.Status) })
	if o.Status != status {
		t.Fatalf("order %s is %s (history %v, reason %q); wanted %s", id, o.Status, o.statuses(), o.Reason, status)
	}
	return o
}

// awaitShippedInFull waits until the order is SHIPPED and orders has applied every step's event. orders
// consumes stock.reserved, payment.succeeded and shipment.dispatched independently, so SHIPPED can be read a
// moment before the reservation's total or the payment id (and their history steps) arrive.
func (s *saga) awaitShippedInFull(t *testing.T, id string) sagaOrder {
	t.Helper()
	s.await(t, id, "SHIPPED", settle)
	return s.awaitUntil(t, id, settle, func(o sagaOrder) bool {
		return len(o.History) == 4 && o.TotalCents != nil && o.PaymentID != "" && o.Shipment != nil
	})
}

// awaitTerminal waits until the order reaches whichever terminal status it ends in.
func (s *saga) awaitTerminal(t *testing.T, id string, timeout time.Duration) sagaOrder {
	t.Helper()
	return s.awaitUntil(t, id, timeout, func(o sagaOrder) bool { return slices.Contains(terminal, o.Status) })
}

// awaitUntil polls the order until done says so, failing the test at the deadline.
func (s *saga) awaitUntil(t *testing.T, id string, timeout time.Duration, done func(sagaOrder) bool) sagaOrder {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := harness.Do(t, http.MethodGet, s.url(t, "orders")+"/v1/orders/"+id, nil, nil)
		if r.Status == http.StatusNotFound && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // an order published straight to the broker is stored moments later
			continue
		}
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var o sagaOrder
		r.JSON(t, &o)
		if done(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is still %s after %s (history %v)", id, o.Status, timeout, o.statuses())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *saga) getJSON(t *testing.T, app, path string, v any) int {
	t.Helper()
	r := harness.Do(t, http.MethodGet, s.url(t, app)+path, nil, nil)
	if r.Status == http.StatusOK {
		r.JSON(t, v)
	}
	return r.Status
}

type charge struct {
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
}

// providerCharge asks the card simulator what it saw for an order.
func (s *saga) providerCharge(t *testing.T, orderID string) (charge, bool) {
	t.Helper()
	r := harness.Do(t, http.MethodGet, s.CardSimulator+"/v1/charges/"+orderID, nil,
		map[string]string{"Authorization": "Bearer sk_test_orderflow_local_only"})
	if r.Status == http.StatusNotFound {
		return charge{}, false
	}
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var c charge
	r.JSON(t, &c)
	return c, true
}

func (s *saga) emails(t *testing.T, orderID string) []string {
	t.Helper()
	var v struct {
		Notifications []struct {
			Event string `json:"event"`
		} `json:"notifications"`
	}
	require.Equal(t, http.StatusOK, s.getJSON(t, "notifications", "/v1/notifications?orderId="+orderID, &v))
	out := make([]string, len(v.Notifications))
	for i, n := range v.Notifications {
		out[i] = n.Event
	}
	return out
}

// awaitEmails waits until the order's sent log holds exactly want (in saga order).
func (s *saga) awaitEmails(t *testing.T, orderID string, want ...string) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Equal(s.emails(t, orderID), want) }, 20*time.Second, 100*time.Millisecond,
		"e-mails for %s: got %v, want %v", orderID, s.emails(t, orderID), want)
	for _, ev := range want {
		_, err := os.Stat(filepath.Join(s.DataDir, "mail", orderID+"-"+ev+".eml"))
		require.NoError(t, err, "the %s e-mail reached the email binding", ev)
	}
}

// verify checks, at the end of a scenario, what must hold whatever happened: every order ended in exactly one
// terminal status; for every SKU the stock received equals available + reserved + committed and nothing is
// still reserved; and every event the services published validates against docs/events.
func (s *saga) verify(t *testing.T) {
	t.Helper()
	for _, id := range s.orders {
		o := s.order(t, id)
		require.Contains(t, terminal, o.Status, "order %s ended in a terminal status", id)
		var terminals int
		for _, st := range o.statuses() {
			if slices.Contains(terminal, st) {
				terminals++
			}
		}
		assert.Equal(t, 1, terminals, "order %s has exactly one terminal status: %v", id, o.statuses())
		assert.Equal(t, o.Status, o.statuses()[len(o.History)-1])
	}
	for sku, initial := range s.initial {
		var p product
		require.Eventually(t, func() bool {
			p = s.product(t, sku)
			return p.Reserved == 0
		}, 20*time.Second, 100*time.Millisecond, "no stock of %s stays reserved once every order ended", sku)
		assert.Equal(t, initial, p.Available+p.Reserved+p.Committed, "stock of %s is conserved: %+v", sku, p)
		assert.GreaterOrEqual(t, p.Available, 0)
	}
	s.verifySchemas(t)
}

var (
	schemasOnce sync.Once
	schemas     *eventschema.Validator
	schemasErr  error
)

func (s *saga) verifySchemas(t *testing.T) {
	t.Helper()
	schemasOnce.Do(func() {
		schemas, schemasErr = eventschema.Load(filepath.Join(harness.Root(t), "docs", "events"))
	})
	require.NoError(t, schemasErr)
	checked := 0
	for topic, evs := range s.Spy.All() {
		if slices.Contains(harness.DeadLetterTopics, topic) {
			continue // dead letters are whatever was dropped, valid or not
		}
		for _, raw := range evs {
			var e harness.Envelope
			require.NoError(t, json.Unmarshal(raw, &e))
			if !slices.Contains(s.orders, e.Subject) {
				continue // a crafted event a test published itself
			}
			require.NoError(t, schemas.Validate(raw), "event on %s", topic)
			checked++
		}
	}
	require.Positive(t, checked, "the spy saw the services' events")
}

func failpoints(app, spec string) map[string]map[string]string {
	return map[string]map[string]string{app: {"FAILPOINTS": spec}}
}
