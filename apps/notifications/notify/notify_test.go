package notify_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/notifications/notify"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
)

type fakeMailer struct {
	mu   sync.Mutex
	sent []notify.Email
	fail error
}

func (m *fakeMailer) Send(_ context.Context, e notify.Email) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		err := m.fail
		m.fail = nil
		return err
	}
	m.sent = append(m.sent, e)
	return nil
}

func newService() (*notify.Service, *fakeMailer) {
	m := &fakeMailer{}
	return notify.NewService(kvfake.New[notify.Recipient](), kvfake.New[notify.Sent](), m, time.Now), m
}

var placed = events.OrderPlacedData{OrderID: "o-1", CustomerID: "c-42", Email: "ada@example.com", Items: []events.Item{{SKU: "S", Quantity: 1}}}

func TestOneEmailPerOrderAndEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, mailer := newService()
	require.NoError(t, svc.OnPlaced(ctx, "o-1/order.placed", placed))
	require.NoError(t, svc.OnPlaced(ctx, "o-1/order.placed", placed))
	dispatched := events.ShipmentDispatchedData{OrderID: "o-1", Carrier: "PostNL", TrackingNumber: "T1"}
	require.NoError(t, svc.OnDispatched(ctx, "o-1/shipment.dispatched", dispatched))
	require.NoError(t, svc.OnDispatched(ctx, "o-1/shipment.dispatched", dispatched))

	require.Len(t, mailer.sent, 2)
	assert.Equal(t, "ada@example.com", mailer.sent[0].To)
	assert.Equal(t, "o-1-order.placed", mailer.sent[0].ID)
	assert.Contains(t, mailer.sent[1].Body, "T1")
	history, err := svc.History(ctx, "o-1")
	require.NoError(t, err)
	require.Len(t, history, 2)
	assert.Equal(t, "order.placed", history[0].Event)
	assert.Equal(t, "shipment.dispatched", history[1].Event)
}

func TestEventBeforeOrderPlacedWaitsForTheRecipient(t *testing.T) {
	t.Parallel()
	svc, mailer := newService()
	err := svc.OnRejected(context.Background(), "o-1/stock.rejected", events.StockRejectedData{OrderID: "o-1", Reason: "no stock"})
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "RETRY until order.placed has told us the address")
	assert.Empty(t, mailer.sent)
}

func TestFailedSendIsRetriedNotLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, mailer := newService()
	mailer.fail = errors.New("smtp down")
	require.Error(t, svc.OnPlaced(ctx, "o-1/order.placed", placed))
	history, err := svc.History(ctx, "o-1")
	require.NoError(t, err)
	assert.Empty(t, history, "an e-mail that was not sent is not in the log")
	require.NoError(t, svc.OnPlaced(ctx, "o-1/order.placed", placed))
	assert.Len(t, mailer.sent, 1)
}

func TestEmailsForEveryNotifiedKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		send func(s *notify.Service) error
		want string
	}{
		{"rejected", func(s *notify.Service) error {
			return s.OnRejected(ctx, "", events.StockRejectedData{OrderID: "o-1", Reason: "SKU-9 is unknown"})
		}, "SKU-9 is unknown"},
		{"payment failed", func(s *notify.Service) error {
			return s.OnPaymentFailed(ctx, "", events.PaymentFailedData{OrderID: "o-1", Reason: "card declined"})
		}, "card declined"},
		{"cancelled", func(s *notify.Service) error {
			return s.OnCancelled(ctx, "", events.OrderCancelledData{OrderID: "o-1", Reason: events.ReasonCustomerRequest})
		}, "as you asked"},
		{"expired", func(s *notify.Service) error {
			return s.OnCancelled(ctx, "", events.OrderCancelledData{OrderID: "o-1", Reason: events.ReasonReservationExpired})
		}, "did not arrive in time"},
		{"refunded", func(s *notify.Service) error {
			return s.OnRefunded(ctx, "", events.PaymentRefundedData{OrderID: "o-1", AmountCents: 1999, Currency: "USD"})
		}, "19.99 USD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, mailer := newService()
			require.NoError(t, svc.OnPlaced(ctx, "", placed))
			require.NoError(t, tc.send(svc))
			require.Len(t, mailer.sent, 2)
			assert.Contains(t, mailer.sent[1].Body, tc.want)
		})
	}
}
