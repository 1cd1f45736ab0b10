package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/events"
	"orderflow/tests/harness"
)

// deadLetter is the part of the deadletters API's answer the tests inspect.
type deadLetter struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Consumer   string          `json:"consumer"`
	Topic      string          `json:"topic"`
	EventID    string          `json:"eventId"`
	EventType  string          `json:"eventType"`
	Event      json.RawMessage `json:"event"`
	ParseError string          `json:"parseError"`
	Replays    int             `json:"replays"`
}

// deadLetters lists the dead letters of one status, following every page.
func (s *saga) deadLetters(t *testing.T, status string) []deadLetter {
	t.Helper()
	var all []deadLetter
	cursor := ""
	for {
		q := url.Values{"status": {status}, "limit": {"50"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			DeadLetters []deadLetter `json:"deadLetters"`
			Next        string       `json:"next"`
		}
		require.Equal(t, http.StatusOK, s.getJSON(t, "deadletters", "/v1/deadletters?"+q.Encode(), &page))
		all = append(all, page.DeadLetters...)
		if page.Next == "" {
			return all
		}
		cursor = page.Next
	}
}

// awaitDeadLetter waits until the deadletters app lists the event consumer gave up on with status.
func (s *saga) awaitDeadLetter(t *testing.T, consumer, eventID, status string) deadLetter {
	t.Helper()
	var found deadLetter
	require.Eventually(t, func() bool {
		listed := s.deadLetters(t, status)
		i := slices.IndexFunc(listed, func(d deadLetter) bool { return d.Consumer == consumer && d.EventID == eventID })
		if i >= 0 {
			found = listed[i]
		}
		return i >= 0
	}, settle, 100*time.Millisecond, "%s's dead letter %s listed as %s", consumer, eventID, status)
	return found
}

func (s *saga) deadLetterAction(t *testing.T, id, action string) (int, deadLetter) {
	t.Helper()
	r := harness.Do(t, http.MethodPost, s.url(t, "deadletters")+"/v1/deadletters/"+id+"/"+action, nil, nil)
	var d deadLetter
	if r.Status == http.StatusOK {
		r.JSON(t, &d)
	}
	return r.Status, d
}

func TestDeadLettersAreKeptListedDiscardedAndReplayed(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{})

	t.Run("a malformed event is kept for each app that dropped it, and one is discarded", func(t *testing.T) {
		scenarioDeadLetter(t, s) // publishes "bad-<suffix>" to order.placed: orders, inventory and notifications drop it
		id := "bad-" + s.Suffix
		kept := map[string]deadLetter{}
		for _, consumer := range []string{"orders", "inventory", "notifications"} {
			d := s.awaitDeadLetter(t, consumer, id, "pending")
			assert.Equal(t, s.Topic("order.placed"), d.Topic, "the original topic, from the CloudEvent's topic attribute")
			assert.Equal(t, "orderflow.order.placed.v1", d.EventType)
			kept[consumer] = d
		}

		var shown deadLetter
		require.Equal(t, http.StatusOK, s.getJSON(t, "deadletters", "/v1/deadletters/"+kept["inventory"].ID, &shown))
		var original struct {
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(shown.Event, &original))
		assert.Equal(t, id, original.ID)
		assert.JSONEq(t, `{"orderId":"","items":"not-a-list"}`, string(original.Data), "the event is kept intact")

		status, d := s.deadLetterAction(t, kept["orders"].ID, "discard")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "discarded", d.Status)
		assert.True(t, slices.ContainsFunc(s.deadLetters(t, "discarded"), func(d deadLetter) bool { return d.ID == kept["orders"].ID }))
		assert.False(t, slices.ContainsFunc(s.deadLetters(t, "pending"), func(d deadLetter) bool { return d.ID == kept["orders"].ID }))
		status, _ = s.deadLetterAction(t, kept["orders"].ID, "replay")
		assert.Equal(t, http.StatusConflict, status, "a discarded dead letter is not replayed")
	})

	t.Run("a replayed order.placed that inventory never processed ships", func(t *testing.T) {
		s.stock(t, "REPLAY", 500, 3)
		orderID := "replayed-" + s.Suffix
		ev := events.New(events.OrderPlaced, orderID, time.Now(), events.OrderPlacedData{
			OrderID: orderID, CustomerID: "c-42", Email: "ada@example.com",
			Items: []events.Item{{SKU: "REPLAY", Quantity: 2}}, Payment: events.PaymentMethod{CardToken: "tok_visa"},
			PlacedAt: time.Now().UTC(),
		})
		env, err := events.Wrap(ev, "orders", "")
		require.NoError(t, err)
		body, err := json.Marshal(env)
		require.NoError(t, err)
		// As if inventory had given up on it during an outage: nobody else ever saw it.
		s.Spy.Publish(t, "inventory.deadletter", body)
		s.track(orderID)

		d := s.awaitDeadLetter(t, "inventory", ev.ID, "pending")
		assert.Equal(t, s.Topic("order.placed"), d.Topic, "replays go to the event type's topic")
		assert.Equal(t, http.StatusNotFound, harness.Do(t, http.MethodGet, s.url(t, "orders")+"/v1/orders/"+orderID, nil, nil).Status,
			"before the replay no service has the order")

		status, replayed := s.deadLetterAction(t, d.ID, "replay")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "replayed", replayed.Status)
		s.await(t, orderID, "SHIPPED", settle)
		s.awaitProduct(t, product{SKU: "REPLAY", Name: "Test REPLAY", PriceCents: 500, Available: 1, Committed: 2})

		status, again := s.deadLetterAction(t, d.ID, "replay")
		require.Equal(t, http.StatusOK, status, "replaying twice is harmless")
		assert.Equal(t, 2, again.Replays)
		require.Eventually(t, func() bool {
			var n int
			for _, raw := range s.Spy.Received("order.placed") {
				var e harness.Envelope
				if json.Unmarshal(raw, &e) == nil && e.ID == ev.ID {
					n++
				}
			}
			return n == 2
		}, settle, 50*time.Millisecond, "both replays reached order.placed")
		assert.Equal(t, "SHIPPED", s.order(t, orderID).Status)
		s.awaitProduct(t, product{SKU: "REPLAY", Name: "Test REPLAY", PriceCents: 500, Available: 1, Committed: 2})
	})

	s.verify(t)
}
