package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/events"
	"orderflow/tests/harness"
)

// TestNotificationsUnderFaults drives notifications alone, through its real sidecar, with crafted CloudEvents
// in the orders that faults produce: duplicates delivered at once, an event ahead of order.placed, and a
// cancellation that races a decline or a rejection.
func TestNotificationsUnderFaults(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{Apps: []string{"notifications"}})
	tests := []struct {
		name string
		// steps are published in turn, each once notifications has recorded the previous one; the events of one
		// step are published concurrently.
		steps [][]events.Kind
		// parked: the first step arrives ahead of order.placed and must be acknowledged and kept, not retried.
		parked     bool
		wantSent   []string
		wantUnsent []string
		// race: the last step's two outcomes race; whichever notifications records first is mailed, the other
		// withheld.
		race bool
	}{
		{
			name:     "the same event delivered three times at once mails once",
			steps:    [][]events.Kind{{events.OrderPlaced}, {events.ShipmentDispatched, events.ShipmentDispatched, events.ShipmentDispatched}},
			wantSent: []string{"order.placed", "shipment.dispatched"},
		},
		{
			name:     "an event ahead of order.placed waits for it instead of being dead-lettered",
			steps:    [][]events.Kind{{events.PaymentFailed}, {events.OrderPlaced}},
			parked:   true,
			wantSent: []string{"order.placed", "payment.failed"},
		},
		{
			name:       "a cancellation after a decline is withheld",
			steps:      [][]events.Kind{{events.OrderPlaced}, {events.PaymentFailed}, {events.OrderCancelled}},
			wantSent:   []string{"order.placed", "payment.failed"},
			wantUnsent: []string{"order.cancelled:withheld"},
		},
		{
			name:  "a cancellation racing a rejection mails one outcome",
			steps: [][]events.Kind{{events.OrderPlaced}, {events.StockRejected, events.OrderCancelled}},
			race:  true,
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("nf%d-%s", i, s.Suffix)
			for n, step := range tc.steps {
				publishConcurrently(t, s, orderID, step)
				_, unsent := awaitLedger(t, s, orderID, func(sent, unsent []string) bool { return recorded(sent, unsent, step) })
				if n == 0 && tc.parked {
					assert.Equal(t, []string{step[0].Topic + ":waiting_for_recipient"}, unsent, "acknowledged and kept for order.placed")
				}
			}
			wantSent, wantUnsent := tc.wantSent, tc.wantUnsent
			if tc.race {
				sent, _ := awaitLedger(t, s, orderID, func(sent, unsent []string) bool { return len(sent) == 2 && len(unsent) == 1 })
				loser := events.OrderCancelled.Topic
				if sent[1] == loser {
					loser = events.StockRejected.Topic
				}
				wantSent, wantUnsent = []string{"order.placed", sent[1]}, []string{loser + ":withheld"}
			}
			sent, unsent := awaitLedger(t, s, orderID, func(sent, unsent []string) bool {
				return slices.Equal(sent, wantSent) && slices.Equal(unsent, wantUnsent)
			})
			assert.Equal(t, wantSent, sent)
			assert.Equal(t, wantUnsent, unsent)
			mails, err := filepath.Glob(filepath.Join(s.DataDir, "mail", orderID+"-*.eml"))
			require.NoError(t, err)
			var got, want []string
			for _, m := range mails {
				got = append(got, filepath.Base(m))
			}
			for _, topic := range wantSent {
				want = append(want, orderID+"-"+topic+".eml")
			}
			assert.ElementsMatch(t, want, got, "exactly the sent e-mails reached the email binding")
		})
	}
	var deadLettered []string
	for _, raw := range s.Spy.Received("notifications.deadletter") {
		var e harness.Envelope
		require.NoError(t, json.Unmarshal(raw, &e))
		deadLettered = append(deadLettered, e.ID)
	}
	assert.Empty(t, deadLettered, "nothing was dead-lettered")
}

// recorded reports whether the ledger holds an e-mail, in whatever state but being sent, for every kind.
func recorded(sent, unsent []string, kinds []events.Kind) bool {
	for _, k := range kinds {
		if !slices.Contains(sent, k.Topic) && !slices.ContainsFunc(unsent, func(u string) bool {
			return strings.HasPrefix(u, k.Topic+":") && u != k.Topic+":sending"
		}) {
			return false
		}
	}
	return true
}

// publishConcurrently publishes one crafted event per kind about orderID through the spy's sidecar, all at
// once, so duplicates of one kind reach notifications' sidecar together.
func publishConcurrently(t *testing.T, s *saga, orderID string, kinds []events.Kind) {
	t.Helper()
	url := s.App(t, "spy").SidecarURL() + "/v1.0/publish/pubsub/"
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		raw := craftedEvent(t, k, orderID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = publishRaw(url+s.Topic(k.Topic), s.DaprAPIToken, raw)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

func publishRaw(url, token string, cloudEvent []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(cloudEvent))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("dapr-api-token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publishing to %s: %s", url, resp.Status)
	}
	return nil
}

// craftedEvent is the CloudEvent the owning service would publish for kind k about orderID.
func craftedEvent(t *testing.T, k events.Kind, orderID string) []byte {
	t.Helper()
	at := time.Now().UTC()
	data := map[events.Kind]any{
		events.OrderPlaced: events.OrderPlacedData{OrderID: orderID, CustomerID: "c-42", Email: "ada@example.com",
			Items: []events.Item{{SKU: "MUG", Quantity: 1}}, Payment: events.PaymentMethod{CardToken: "tok_visa"}, PlacedAt: at},
		events.StockRejected:      events.StockRejectedData{OrderID: orderID, Reason: "MUG: 1 requested, 0 available", RejectedAt: at},
		events.PaymentFailed:      events.PaymentFailedData{OrderID: orderID, Code: events.PaymentDeclined, Reason: "card declined", FailedAt: at},
		events.ShipmentDispatched: events.ShipmentDispatchedData{OrderID: orderID, ShipmentID: "s-1", Carrier: "PostNL", TrackingNumber: "T1", DispatchedAt: at},
		events.OrderCancelled:     events.OrderCancelledData{OrderID: orderID, Reason: events.ReasonCustomerRequest, CancelledAt: at},
	}[k]
	require.NotNil(t, data, "no crafted payload for %s", k.Topic)
	env, err := events.Wrap(events.New(k, orderID, at, data), "tests", "")
	require.NoError(t, err)
	raw, err := json.Marshal(env)
	require.NoError(t, err)
	return raw
}

// awaitLedger polls notifications' ledger of orderID until done accepts it, and returns it: the events of the
// sent e-mails, and the unsent ones as event:state.
func awaitLedger(t *testing.T, s *saga, orderID string, done func(sent, unsent []string) bool) (sent, unsent []string) {
	t.Helper()
	read := func() {
		r := harness.Do(t, http.MethodGet, s.url(t, "notifications")+"/v1/notifications?orderId="+orderID, nil, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var v struct {
			Notifications []struct {
				Event string `json:"event"`
			} `json:"notifications"`
			Unsent []struct {
				Event string `json:"event"`
				State string `json:"state"`
			} `json:"unsent"`
		}
		r.JSON(t, &v)
		sent, unsent = nil, nil
		for _, n := range v.Notifications {
			sent = append(sent, n.Event)
		}
		for _, u := range v.Unsent {
			unsent = append(unsent, u.Event+":"+u.State)
		}
	}
	require.Eventually(t, func() bool { read(); return done(sent, unsent) }, settle, 50*time.Millisecond,
		"ledger of %s: sent %v, unsent %v", orderID, sent, unsent)
	return sent, unsent
}
