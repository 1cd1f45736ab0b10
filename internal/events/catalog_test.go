package events_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/events"
)

// topicPattern is <entity>.<past-tense-verb>, the naming rule the catalog documents.
var topicPattern = regexp.MustCompile(`^[a-z]+\.[a-z]+(-[a-z]+)*$`)

func TestCatalogKinds(t *testing.T) {
	t.Parallel()
	topics := map[string]bool{}
	types := map[string]bool{}
	for _, k := range events.All {
		t.Run(k.Topic, func(t *testing.T) {
			t.Parallel()
			assert.Regexp(t, topicPattern, k.Topic)
			assert.Equal(t, "orderflow."+k.Topic+".v1", k.Type, "the type is derived from the topic")
			assert.Equal(t, k.Topic+".schema.json", k.Schema())

			found, ok := events.ByType(k.Type)
			require.True(t, ok, "ByType(%q)", k.Type)
			assert.Equal(t, k, found)
		})
		assert.False(t, topics[k.Topic], "topic %s appears twice in events.All", k.Topic)
		assert.False(t, types[k.Type], "type %s appears twice in events.All", k.Type)
		topics[k.Topic], types[k.Type] = true, true
	}
}

func TestByTypeUnknown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  string
	}{
		{"empty", ""},
		{"a topic instead of a type", "order.placed"},
		{"a version that does not exist", "orderflow.order.placed.v2"},
		{"another namespace", "com.example.order.placed.v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ok := events.ByType(tt.typ)
			assert.False(t, ok)
		})
	}
}

// Event ids must be deterministic: a handler that is redelivered re-publishes the same events, and consumers
// deduplicate on the id.
func TestIDIsDeterministic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		orderID string
		kind    events.Kind
		want    string
	}{
		{"order placed", "o-1", events.OrderPlaced, "o-1/order.placed"},
		{"hyphenated topic", "o-1", events.OrderCancelRequested, "o-1/order.cancel-requested"},
		{"uuid order id", "5f0c2a8e-8d4b-4f59-9a57-0f6f2f8f3c11", events.PaymentRefunded,
			"5f0c2a8e-8d4b-4f59-9a57-0f6f2f8f3c11/payment.refunded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, events.ID(tt.orderID, tt.kind))
			assert.Equal(t, events.ID(tt.orderID, tt.kind), events.ID(tt.orderID, tt.kind))
		})
	}

	t.Run("distinct per kind and per order", func(t *testing.T) {
		t.Parallel()
		seen := map[string]bool{}
		for _, orderID := range []string{"o-1", "o-2"} {
			for _, k := range events.All {
				id := events.ID(orderID, k)
				assert.False(t, seen[id], "id %s is not unique", id)
				seen[id] = true
			}
		}
	})

	t.Run("New uses it, whatever the time", func(t *testing.T) {
		t.Parallel()
		data := events.OrderCancelRequestedData{OrderID: "o-1"}
		first := events.New(events.OrderCancelRequested, "o-1", time.Now(), data)
		again := events.New(events.OrderCancelRequested, "o-1", time.Now().Add(time.Hour), data)
		assert.Equal(t, "o-1/order.cancel-requested", first.ID)
		assert.Equal(t, first.ID, again.ID)
		assert.Equal(t, "o-1", first.Subject)
	})
}

func TestWrap(t *testing.T) {
	t.Parallel()
	local := time.FixedZone("CEST", 2*60*60)
	at := time.Date(2026, 5, 1, 12, 15, 30, 0, local)
	data := events.OrderCancelledData{OrderID: "o-1", Reason: events.ReasonCustomerRequest, CancelledAt: at}
	tests := []struct {
		name        string
		traceParent string
		wantTrace   bool
	}{
		{"with trace context", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{"without trace context", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, err := events.Wrap(events.New(events.OrderCancelled, "o-1", at, data), "orders", tt.traceParent)
			require.NoError(t, err)

			assert.Equal(t, events.SpecVersion, env.SpecVersion)
			assert.Equal(t, "o-1/order.cancelled", env.ID)
			assert.Equal(t, "orders", env.Source)
			assert.Equal(t, events.OrderCancelled.Type, env.Type)
			assert.Equal(t, "o-1", env.Subject)
			assert.Equal(t, time.UTC, env.Time.Location(), "event times are UTC")
			assert.True(t, at.Equal(env.Time))
			assert.Equal(t, "application/json", env.DataContentType)
			assert.Equal(t, "https://orderflow.dev/schemas/events/order.cancelled.schema.json", env.DataSchema)
			assert.Equal(t, env.TraceParent, env.TraceID, "traceid repeats traceparent so Dapr keeps it")

			var got events.OrderCancelledData
			require.NoError(t, json.Unmarshal(env.Data, &got))
			assert.Equal(t, data.OrderID, got.OrderID)
			assert.True(t, data.CancelledAt.Equal(got.CancelledAt))

			raw, err := json.Marshal(env)
			require.NoError(t, err)
			var attrs map[string]any
			require.NoError(t, json.Unmarshal(raw, &attrs))
			_, hasTrace := attrs["traceparent"]
			assert.Equal(t, tt.wantTrace, hasTrace, "traceparent is omitted when there is none")
			assert.NotContains(t, attrs, "topic", "Dapr, not the producer, sets topic")
		})
	}

	t.Run("unencodable data", func(t *testing.T) {
		t.Parallel()
		_, err := events.Wrap(events.New(events.OrderPlaced, "o-1", at, make(chan int)), "orders", "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), events.OrderPlaced.Type)
	})
}
