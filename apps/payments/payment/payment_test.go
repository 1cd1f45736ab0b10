package payment_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/payments/payment"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
)

// fakeProvider approves or declines by token and counts calls; it is idempotent by key, like a real gateway.
type fakeProvider struct {
	mu      sync.Mutex
	charges map[string]int
	refunds map[string]int
	err     error
	// during runs while a charge is in flight, to interleave other deliveries.
	during func()
}

func newProvider() *fakeProvider {
	return &fakeProvider{charges: map[string]int{}, refunds: map[string]int{}}
}

func (p *fakeProvider) Charge(_ context.Context, req payment.ChargeRequest) (payment.ChargeResult, error) {
	if p.during != nil {
		p.during()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return payment.ChargeResult{}, p.err
	}
	p.charges[req.IdempotencyKey]++
	if req.CardToken == "tok_declined" {
		return payment.ChargeResult{ChargeID: "ch_" + req.IdempotencyKey, DeclineCode: events.PaymentDeclined, Message: "declined"}, nil
	}
	return payment.ChargeResult{ChargeID: "ch_" + req.IdempotencyKey, Approved: true}, nil
}

func (p *fakeProvider) Refund(_ context.Context, req payment.RefundRequest) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refunds[req.IdempotencyKey]++
	return "re_" + req.ChargeID, nil
}

func reserved(orderID, token string) events.StockReservedData {
	return events.StockReservedData{OrderID: orderID, CustomerID: "c-1", TotalCents: 4200, Currency: "USD",
		Lines: []events.PricedLine{{SKU: "S", Quantity: 1, UnitPriceCents: 4200, LineTotalCents: 4200}}, Payment: events.PaymentMethod{CardToken: token}}
}

func cancelled(orderID string) events.OrderCancelledData {
	return events.OrderCancelledData{OrderID: orderID, Reason: events.ReasonCustomerRequest}
}

func newService() (*payment.Service, *fakeProvider, *eventstest.Publisher) {
	prov, pub := newProvider(), &eventstest.Publisher{}
	return payment.NewService(kvfake.New[payment.Payment](), prov, pub, time.Now), prov, pub
}

func TestCharge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		token       string
		providerErr error
		wantStatus  payment.Status
		wantEvent   events.Kind
		wantCode    string
		wantRetry   bool
	}{
		{name: "approved", token: "tok_visa", wantStatus: payment.Charged, wantEvent: events.PaymentSucceeded},
		{name: "declined", token: "tok_declined", wantStatus: payment.Failed, wantEvent: events.PaymentFailed, wantCode: events.PaymentDeclined},
		{name: "provider failed after retries", token: "tok_visa", providerErr: fmt.Errorf("%w: timeout", payment.ErrProviderFailed),
			wantStatus: payment.Failed, wantEvent: events.PaymentFailed, wantCode: events.PaymentProviderUnavailable},
		{name: "sidecar unreachable retries the delivery", token: "tok_visa", providerErr: apperr.New(apperr.Unavailable, "no sidecar"), wantRetry: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, prov, pub := newService()
			prov.err = tc.providerErr
			err := svc.OnStockReserved(context.Background(), "", reserved("o", tc.token))
			if tc.wantRetry {
				require.Error(t, err)
				_, getErr := svc.Get(context.Background(), "o")
				assert.Equal(t, apperr.NotFound, apperr.CodeOf(getErr), "nothing is recorded, so the redelivery charges")
				return
			}
			require.NoError(t, err)
			p, err := svc.Get(context.Background(), "o")
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, p.Status)
			assert.Equal(t, tc.wantCode, p.FailureCode)
			require.Len(t, pub.Events(), 1)
			assert.Equal(t, tc.wantEvent, pub.Events()[0].Kind)
		})
	}
}

func TestRedeliveredReservationChargesOnce(t *testing.T) {
	t.Parallel()
	svc, prov, pub := newService()
	for i := 0; i < 3; i++ {
		require.NoError(t, svc.OnStockReserved(context.Background(), "", reserved("o", "tok_visa")))
	}
	assert.Equal(t, 1, prov.charges["o"])
	ok := pub.Of(events.PaymentSucceeded)
	require.Len(t, ok, 3)
	assert.Equal(t, ok[0].ID, ok[2].ID)
	assert.Equal(t, "c-1", ok[0].Data.(events.PaymentSucceededData).CustomerID)
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("before the charge voids it", func(t *testing.T) {
		t.Parallel()
		svc, prov, pub := newService()
		require.NoError(t, svc.OnOrderCancelled(ctx, "", cancelled("o")))
		require.NoError(t, svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
		p, err := svc.Get(ctx, "o")
		require.NoError(t, err)
		assert.Equal(t, payment.Voided, p.Status)
		assert.Zero(t, prov.charges["o"])
		assert.Empty(t, pub.Events())
	})
	t.Run("after the charge refunds once", func(t *testing.T) {
		t.Parallel()
		svc, prov, pub := newService()
		require.NoError(t, svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
		require.NoError(t, svc.OnOrderCancelled(ctx, "", cancelled("o")))
		require.NoError(t, svc.OnOrderCancelled(ctx, "", cancelled("o")))
		p, err := svc.Get(ctx, "o")
		require.NoError(t, err)
		assert.Equal(t, payment.Refunded, p.Status)
		assert.Equal(t, 1, prov.refunds["refund-o"])
		refunded := pub.Of(events.PaymentRefunded)
		require.Len(t, refunded, 2)
		assert.EqualValues(t, 4200, refunded[0].Data.(events.PaymentRefundedData).AmountCents)
	})
	t.Run("during the charge refunds what was charged", func(t *testing.T) {
		t.Parallel()
		svc, prov, pub := newService()
		prov.during = func() { require.NoError(t, svc.OnOrderCancelled(ctx, "", cancelled("o"))) }
		require.NoError(t, svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
		p, err := svc.Get(ctx, "o")
		require.NoError(t, err)
		assert.Equal(t, payment.Refunded, p.Status)
		assert.Equal(t, 1, prov.charges["o"])
		assert.Equal(t, 1, prov.refunds["refund-o"])
		assert.Empty(t, pub.Of(events.PaymentSucceeded), "a charge that lost to the cancellation is never announced")
		assert.Len(t, pub.Of(events.PaymentRefunded), 1)
	})
	t.Run("of a failed payment does nothing", func(t *testing.T) {
		t.Parallel()
		svc, prov, _ := newService()
		require.NoError(t, svc.OnStockReserved(ctx, "", reserved("o", "tok_declined")))
		require.NoError(t, svc.OnOrderCancelled(ctx, "", cancelled("o")))
		assert.Empty(t, prov.refunds)
	})
}

func TestUnknownPayment(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService()
	_, err := svc.Get(context.Background(), "nope")
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))
}
