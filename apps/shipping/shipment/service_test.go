package shipment_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/shipping/shipment"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
)

type fakeLabels struct {
	mu     sync.Mutex
	labels map[string]shipment.Label
	writes int
}

func (l *fakeLabels) Put(_ context.Context, label shipment.Label) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.labels == nil {
		l.labels = map[string]shipment.Label{}
	}
	l.labels[label.OrderID] = label
	l.writes++
	return nil
}

func newService() (*shipment.Service, *fakeLabels, *eventstest.Publisher) {
	labels, pub := &fakeLabels{}, &eventstest.Publisher{}
	return shipment.NewService(kvfake.New[shipment.Shipment](), labels, pub, "Acme Parcel", time.Now), labels, pub
}

var (
	ctx  = context.Background()
	paid = events.PaymentSucceededData{OrderID: "o", CustomerID: "c-1", PaymentID: "ch_1"}
)

func TestShippingDecidesOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		steps      []func(s *shipment.Service) error
		want       shipment.Status
		wantEvent  events.Kind
		wantLabels int
	}{
		{"paid order ships", []func(s *shipment.Service) error{
			func(s *shipment.Service) error { return s.OnPaymentSucceeded(ctx, "", paid) },
		}, shipment.Dispatched, events.ShipmentDispatched, 1},
		{"cancellation first stops the dispatch", []func(s *shipment.Service) error{
			func(s *shipment.Service) error {
				return s.OnCancelRequested(ctx, "", events.OrderCancelRequestedData{OrderID: "o"})
			},
			func(s *shipment.Service) error { return s.OnPaymentSucceeded(ctx, "", paid) },
		}, shipment.Cancelled, events.ShipmentCancelled, 0},
		{"cancellation after dispatch is too late", []func(s *shipment.Service) error{
			func(s *shipment.Service) error { return s.OnPaymentSucceeded(ctx, "", paid) },
			func(s *shipment.Service) error {
				return s.OnCancelRequested(ctx, "", events.OrderCancelRequestedData{OrderID: "o"})
			},
		}, shipment.Dispatched, events.ShipmentDispatched, 1},
		{"expiry stops an unpaid order", []func(s *shipment.Service) error{
			func(s *shipment.Service) error {
				return s.OnReservationExpired(ctx, "", events.ReservationExpiredData{OrderID: "o"})
			},
		}, shipment.Cancelled, events.ShipmentCancelled, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, labels, pub := newService()
			for _, step := range tc.steps {
				require.NoError(t, step(svc))
			}
			sh, err := svc.Get(ctx, "o")
			require.NoError(t, err)
			assert.Equal(t, tc.want, sh.Status)
			assert.Len(t, labels.labels, tc.wantLabels)
			for _, e := range pub.Events() {
				assert.Equal(t, tc.wantEvent, e.Kind, "every announcement agrees with the one decision")
			}
		})
	}
}

func TestRedeliveredPaymentShipsOnceWithTheSameTracking(t *testing.T) {
	t.Parallel()
	svc, labels, pub := newService()
	require.NoError(t, svc.OnPaymentSucceeded(ctx, "", paid))
	require.NoError(t, svc.OnPaymentSucceeded(ctx, "", paid))
	evs := pub.Of(events.ShipmentDispatched)
	require.Len(t, evs, 2)
	assert.Equal(t, evs[0], evs[1], "identical announcements")
	assert.Equal(t, 2, labels.writes, "the label is rewritten, never duplicated")
	assert.Len(t, labels.labels, 1)
	assert.Regexp(t, `^OF[0-9A-F]{12}$`, evs[0].Data.(events.ShipmentDispatchedData).TrackingNumber)
}

func TestCancelReasonIsKept(t *testing.T) {
	t.Parallel()
	svc, _, pub := newService()
	require.NoError(t, svc.OnReservationExpired(ctx, "", events.ReservationExpiredData{OrderID: "o"}))
	require.NoError(t, svc.OnCancelRequested(ctx, "", events.OrderCancelRequestedData{OrderID: "o"}))
	for _, e := range pub.Of(events.ShipmentCancelled) {
		assert.Equal(t, events.ReasonReservationExpired, e.Data.(events.ShipmentCancelledData).Reason, "the first stop's reason stands")
	}
}
