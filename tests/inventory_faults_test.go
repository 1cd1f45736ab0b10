package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/events"
	"orderflow/tests/harness"
)

// TestConcurrentDuplicatesOfOrderPlacedForTheLastUnit delivers one order.placed for the last unit of a SKU
// four times at once: twice re-published through the broker, as orders does when an Idempotency-Key replay
// comes in while the first request is in flight, and twice straight to inventory's subscription route, as its
// sidecar does when Redis hands a message to a second worker while the first still runs. The order must ship
// once, and inventory's stock must agree with its reservations: the shipped unit committed, nothing held or
// available again.
func TestConcurrentDuplicatesOfOrderPlacedForTheLastUnit(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})
	s.stock(t, "LAST1", 1500, 1)
	orderID := "dup-last-" + s.Suffix
	raw := orderPlacedEvent(t, orderID, "orders", "LAST1", 1)
	s.track(orderID)

	// The URLs are read here, not in the delivering goroutines: App may fail the test.
	publishURL := fmt.Sprintf("%s/v1.0/publish/pubsub/%s", s.App(t, "orders").SidecarURL(), s.Topic("order.placed"))
	routeURL := s.url(t, "inventory") + "/events/order.placed"
	republish := func() error {
		_, err := postCloudEvent(publishURL, s.DaprAPIToken, raw)
		return err
	}
	redeliver := func() error {
		body, err := postCloudEvent(routeURL, s.AppAPIToken, raw)
		if err == nil && !bytes.Contains(body, []byte(`"SUCCESS"`)) {
			err = fmt.Errorf("inventory answered %s", body)
		}
		return err
	}
	start := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for _, deliver := range []func() error{republish, republish, redeliver, redeliver} {
		wg.Go(func() {
			<-start
			errs <- deliver()
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	o := s.awaitShippedInFull(t, orderID)
	assert.Equal(t, []string{"PENDING", "RESERVED", "PAID", "SHIPPED"}, o.statuses())
	var reservation struct {
		Status string        `json:"status"`
		Lines  []events.Item `json:"lines"`
	}
	// The invariants, as inventory's API shows them: nothing reserved without an open reservation (this order's
	// is the SKU's only one), committed equal to the shipped reservation's line, and nothing available again.
	require.Eventually(t, func() bool {
		return s.getJSON(t, "inventory", "/v1/reservations/"+orderID, &reservation) == http.StatusOK && reservation.Status == "COMMITTED"
	}, settle, 100*time.Millisecond, "inventory committed the dispatched order")
	assert.Equal(t, []events.Item{{SKU: "LAST1", Quantity: 1}}, reservation.Lines)
	assert.Equal(t, product{SKU: "LAST1", Name: "Test LAST1", PriceCents: 1500, Available: 0, Reserved: 0, Committed: 1}, s.product(t, "LAST1"))
	for _, raw := range s.Spy.Received("stock.rejected") {
		var e harness.Envelope
		require.NoError(t, json.Unmarshal(raw, &e))
		assert.NotEqual(t, orderID, e.Subject, "only the recorded decision is announced")
	}
	s.verify(t)
}

// postCloudEvent posts a CloudEvent with a Dapr token and returns the answer's body; a status other than 2xx is
// an error. Unlike harness.Do it never fails the test, so goroutines may call it.
func postCloudEvent(url, token string, cloudEvent []byte) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(cloudEvent))
	if err != nil {
		return nil, fmt.Errorf("posting to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("dapr-api-token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("posting to %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		return body, fmt.Errorf("posting to %s: %s %s", url, resp.Status, body)
	}
	return body, nil
}

// TestHoldsOfADeliveryThatDiedBeforeRecordingAreReleasedOnCancel: inventory holds the stock and dies before
// recording its decision; the customer cancels the order while it is PENDING. order.cancelled then reaches
// inventory before the redelivered order.placed (held back by a failpoint), so inventory records the CANCELLED
// tombstone over holds nobody recorded — and must release them.
func TestHoldsOfADeliveryThatDiedBeforeRecordingAreReleasedOnCancel(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{Env: failpoints("inventory", "inventory.before-record=crash")})
	s.stock(t, "LEAK", 700, 5)
	o := s.place(t, orderBody("tok_visa", "LEAK", 2))
	inventory := s.App(t, "inventory")
	require.True(t, inventory.AppExited(settle), "the failpoint crashed inventory between its holds and its record")

	r := harness.Do(t, http.MethodPost, s.url(t, "orders")+"/v1/orders/"+o.ID+"/cancel", nil, nil)
	require.Equal(t, http.StatusAccepted, r.Status, string(r.Body))
	s.await(t, o.ID, "CANCELLED", settle)
	// The sidecar retries both deliveries at most 10 s apart (Resiliency "delivery"): holding order.placed back
	// longer than that lets order.cancelled in first.
	require.NoError(t, inventory.Restart(t.Context(), map[string]string{"FAILPOINTS": "inventory.before-reserve=sleep(12s)"}))

	var reservation struct{ Status string }
	require.Eventually(t, func() bool {
		return s.getJSON(t, "inventory", "/v1/reservations/"+o.ID, &reservation) == http.StatusOK
	}, settle, 100*time.Millisecond)
	assert.Equal(t, "CANCELLED", reservation.Status, "the cancellation came first and left a tombstone")
	require.Eventually(t, func() bool { return s.product(t, "LEAK").Available == 5 }, settle, 100*time.Millisecond,
		"the held stock went back")
	assert.Equal(t, product{SKU: "LEAK", Name: "Test LEAK", PriceCents: 700, Available: 5}, s.product(t, "LEAK"))
	s.verify(t)
}
