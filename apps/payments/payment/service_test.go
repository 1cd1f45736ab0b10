package payment_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

// fault is how the fake gateway misbehaves on a charge.
type fault int

const (
	noFault fault = iota
	// answerLost: the gateway decides (and charges a good card), then the caller never gets the answer — a
	// slow approval after the sidecar's timeout, or a connection dropped after the charge.
	answerLost
	// neverProcessed: the request times out before the gateway decides anything (tok_timeout).
	neverProcessed
	// crashAfterCharge: the gateway charges, then the payments process dies before it records anything.
	crashAfterCharge
)

// errCrash is the panic that stands for the payments process dying.
var errCrash = errors.New("payments crashed")

// gateway is an in-memory card provider, idempotent by key like a real one, with the faults that leave a
// charge's outcome unknown to the caller.
type gateway struct {
	mu         sync.Mutex
	ledger     map[string]payment.ChargeResult // what was decided, by idempotency key
	calls      map[string]int                  // charge requests, by idempotency key
	refunds    map[string]int                  // refund requests, by idempotency key
	refunded   map[string]bool                 // charge ids refunded
	fault      fault
	lookupDown bool
	// during runs while a charge is in flight, before the gateway decides, to interleave other deliveries.
	during func()
}

func newGateway() *gateway {
	return &gateway{ledger: map[string]payment.ChargeResult{}, calls: map[string]int{}, refunds: map[string]int{}, refunded: map[string]bool{}}
}

func (g *gateway) set(f fault, lookupDown bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fault, g.lookupDown = f, lookupDown
}

func (g *gateway) Charge(_ context.Context, req payment.ChargeRequest) (payment.ChargeResult, error) {
	if g.during != nil {
		g.during()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls[req.IdempotencyKey]++
	if g.fault == neverProcessed {
		return payment.ChargeResult{}, fmt.Errorf("%w: binding timed out", payment.ErrOutcomeUnknown)
	}
	res, seen := g.ledger[req.IdempotencyKey]
	if !seen {
		res = payment.ChargeResult{ChargeID: "ch_" + req.IdempotencyKey, Approved: true}
		if req.CardToken == "tok_declined" {
			res = payment.ChargeResult{ChargeID: "ch_" + req.IdempotencyKey, DeclineCode: events.PaymentDeclined, Message: "declined"}
		}
		g.ledger[req.IdempotencyKey] = res
	}
	switch g.fault {
	case answerLost:
		return payment.ChargeResult{}, fmt.Errorf("%w: binding timed out", payment.ErrOutcomeUnknown)
	case crashAfterCharge:
		panic(errCrash)
	}
	return res, nil
}

func (g *gateway) FindCharge(_ context.Context, idempotencyKey string) (payment.ChargeResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lookupDown {
		return payment.ChargeResult{}, fmt.Errorf("%w: connection refused", payment.ErrProviderUnavailable)
	}
	res, ok := g.ledger[idempotencyKey]
	if !ok {
		return payment.ChargeResult{}, payment.ErrNoSuchCharge
	}
	return res, nil
}

func (g *gateway) Refund(_ context.Context, req payment.RefundRequest) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refunds[req.IdempotencyKey]++
	g.refunded[req.ChargeID] = true
	return "re_" + req.ChargeID, nil
}

func (g *gateway) charges() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.ledger)
}

func reserved(orderID, token string) events.StockReservedData {
	return events.StockReservedData{OrderID: orderID, CustomerID: "c-1", TotalCents: 4200, Currency: "USD",
		Lines: []events.PricedLine{{SKU: "S", Quantity: 1, UnitPriceCents: 4200, LineTotalCents: 4200}}, Payment: events.PaymentMethod{CardToken: token}}
}

func cancelled(orderID string) events.OrderCancelledData {
	return events.OrderCancelledData{OrderID: orderID, Reason: events.ReasonCustomerRequest}
}

type fixture struct {
	svc   *payment.Service
	gw    *gateway
	pub   *eventstest.Publisher
	store *kvfake.Store[payment.Payment]
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{gw: newGateway(), pub: &eventstest.Publisher{}, store: kvfake.New[payment.Payment]()}
	f.svc = payment.NewService(f.store, f.gw, f.pub, time.Now)
	return f
}

func (f fixture) status(t *testing.T, orderID string) payment.Payment {
	t.Helper()
	p, err := f.svc.Get(context.Background(), orderID)
	require.NoError(t, err)
	return p
}

// crashes runs a delivery that must die the way the process would, after the gateway charged.
func crashes(t *testing.T, deliver func()) {
	t.Helper()
	defer func() {
		require.Equal(t, errCrash, recover(), "the delivery crashed after the charge")
	}()
	deliver()
}

// requireUnknown checks a delivery answered RETRY because nobody can tell whether the card was charged.
func requireUnknown(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, payment.ErrOutcomeUnknown)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "the sidecar redelivers")
}

func TestCharge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		token      string
		fault      fault
		lookupDown bool
		wantStatus payment.Status
		wantEvent  events.Kind
		wantCode   string
	}{
		{name: "approved", token: "tok_visa", wantStatus: payment.Charged, wantEvent: events.PaymentSucceeded},
		{name: "declined", token: "tok_declined", wantStatus: payment.Failed, wantEvent: events.PaymentFailed, wantCode: events.PaymentDeclined},
		{name: "provider never processed it, as its status API confirms", token: "tok_visa", fault: neverProcessed,
			wantStatus: payment.Failed, wantEvent: events.PaymentFailed, wantCode: events.PaymentProviderUnavailable},
		{name: "outcome unknown and the provider cannot be asked", token: "tok_visa", fault: neverProcessed, lookupDown: true,
			wantStatus: payment.Charging},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.gw.set(tc.fault, tc.lookupDown)
			err := f.svc.OnStockReserved(context.Background(), "", reserved("o", tc.token))
			p := f.status(t, "o")
			assert.Equal(t, tc.wantStatus, p.Status)
			if tc.wantEvent == (events.Kind{}) {
				requireUnknown(t, err)
				assert.Empty(t, f.pub.Events(), "nothing is announced while the outcome is unknown")
				assert.Equal(t, "o", p.IdempotencyKey, "the intent names the key to ask about")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantCode, p.FailureCode)
			require.Len(t, f.pub.Events(), 1)
			assert.Equal(t, tc.wantEvent, f.pub.Events()[0].Kind)
		})
	}
}

// Hole 1: a charge the provider approved after the binding gave up (slow approval, dropped connection) used to
// be recorded as "provider unavailable, no money was taken" while the card was charged.
func TestUnknownOutcomeIsNotAFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		// lookupDownFirst: the provider cannot be asked on the first delivery; the redelivery resolves it.
		lookupDownFirst bool
		wantStatus      payment.Status
		wantEvent       events.Kind
		wantCode        string
		wantCalls       int
	}{
		{name: "slow approval is found by the status lookup", token: "tok_visa",
			wantStatus: payment.Charged, wantEvent: events.PaymentSucceeded, wantCalls: 1},
		{name: "a decline whose answer was lost is still a decline", token: "tok_declined",
			wantStatus: payment.Failed, wantEvent: events.PaymentFailed, wantCode: events.PaymentDeclined, wantCalls: 1},
		{name: "provider unreachable after the charge: retried, then found", token: "tok_visa", lookupDownFirst: true,
			wantStatus: payment.Charged, wantEvent: events.PaymentSucceeded, wantCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t)
			f.gw.set(answerLost, tc.lookupDownFirst)
			err := f.svc.OnStockReserved(ctx, "", reserved("o", tc.token))
			if tc.lookupDownFirst {
				requireUnknown(t, err)
				assert.Empty(t, f.pub.Of(events.PaymentFailed), "an unknown outcome never fails the order")
				f.gw.set(answerLost, false)
				err = f.svc.OnStockReserved(ctx, "", reserved("o", tc.token))
			}
			require.NoError(t, err)
			p := f.status(t, "o")
			assert.Equal(t, tc.wantStatus, p.Status)
			require.Len(t, f.pub.Events(), 1)
			require.Equal(t, tc.wantEvent, f.pub.Events()[0].Kind)
			assert.Equal(t, tc.wantCode, p.FailureCode)
			if tc.wantStatus == payment.Charged {
				assert.Equal(t, "ch_o", p.PaymentID)
				assert.Equal(t, "ch_o", f.pub.Events()[0].Data.(events.PaymentSucceededData).PaymentID)
			}
			assert.Equal(t, 1, f.gw.charges(), "one charge")
			assert.Equal(t, tc.wantCalls, f.gw.calls["o"], "each delivery sends the same idempotent charge")
		})
	}
}

// Hole 2: charged, crashed before recording, then cancelled: the money used to be kept behind a VOIDED record.
func TestChargeLostToACrashIsRefundedOnCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// setup leaves the order charged at the gateway without the outcome on the ledger.
		setup func(t *testing.T, f fixture)
		// stop delivers what follows: the cancellation and redeliveries, in the order they arrive.
		stop func(t *testing.T, f fixture)
	}{
		{
			name: "the cancellation finds the charge and refunds it",
			setup: func(t *testing.T, f fixture) {
				t.Helper()
				f.gw.set(crashAfterCharge, false)
				crashes(t, func() { _ = f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")) })
				f.gw.set(noFault, false)
			},
			stop: func(t *testing.T, f fixture) {
				t.Helper()
				require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
				require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")), "the redelivery after the restart")
			},
		},
		{
			name: "the cancellation cannot ask the provider; the redelivered reservation refunds",
			setup: func(t *testing.T, f fixture) {
				t.Helper()
				f.gw.set(crashAfterCharge, false)
				crashes(t, func() { _ = f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")) })
				f.gw.set(noFault, true)
			},
			stop: func(t *testing.T, f fixture) {
				t.Helper()
				requireUnknown(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
				assert.Equal(t, payment.Charging, f.status(t, "o").Status, "the cancellation is recorded on the open charge")
				f.gw.set(noFault, false)
				require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
				require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")), "the cancellation's redelivery")
			},
		},
		{
			name: "a void recorded with no intent still has its charge found by the redelivery",
			setup: func(t *testing.T, f fixture) {
				t.Helper()
				// What a process that charged and died left behind before intents were recorded.
				f.gw.ledger["o"] = payment.ChargeResult{ChargeID: "ch_o", Approved: true}
				f.gw.calls["o"] = 1
				require.NoError(t, f.store.Create(ctx, "payment/o", payment.Payment{OrderID: "o", Status: payment.Voided}))
			},
			stop: func(t *testing.T, f fixture) {
				t.Helper()
				require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
				require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tc.setup(t, f)
			tc.stop(t, f)
			p := f.status(t, "o")
			assert.Equal(t, payment.Refunded, p.Status)
			assert.Equal(t, "ch_o", p.PaymentID)
			assert.True(t, f.gw.refunded["ch_o"], "the charge was given back")
			assert.Equal(t, 1, f.gw.refunds["refund-o"], "once")
			assert.Equal(t, 1, f.gw.calls["o"], "a stopped order is never charged again")
			assert.Empty(t, f.pub.Of(events.PaymentSucceeded))
			assert.Empty(t, f.pub.Of(events.PaymentFailed))
			refunded := f.pub.Of(events.PaymentRefunded)
			require.NotEmpty(t, refunded)
			assert.EqualValues(t, 4200, refunded[0].Data.(events.PaymentRefundedData).AmountCents)
		})
	}
}

func TestConcurrentDuplicateDeliveriesChargeOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault fault
	}{
		{"answers arrive", noFault},
		{"answers lost after the charge", answerLost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const deliveries = 8
			f := newFixture(t)
			f.gw.set(tc.fault, false)
			start := make(chan struct{})
			errs := make(chan error, deliveries)
			var wg sync.WaitGroup
			for range deliveries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs <- f.svc.OnStockReserved(context.Background(), "", reserved("o", "tok_visa"))
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			assert.Equal(t, 1, f.gw.charges(), "one charge")
			assert.Equal(t, payment.Charged, f.status(t, "o").Status)
			assert.Empty(t, f.pub.Of(events.PaymentFailed))
			ok := f.pub.Of(events.PaymentSucceeded)
			require.Len(t, ok, deliveries, "each delivery announces the one outcome")
			for _, e := range ok {
				assert.Equal(t, ok[0].ID, e.ID)
			}
		})
	}
}

// A duplicate delivery whose charge never reached the provider fails the payment on the provider's word that
// it holds no charge; the other delivery's charge lands just after. The order has failed, so that money goes back.
func TestChargeLandingAfterADuplicateFailedThePaymentIsRefunded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	var interleaved atomic.Bool
	f.gw.during = func() {
		if interleaved.Swap(true) {
			return // the duplicate's own charge
		}
		f.gw.set(neverProcessed, false)
		require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")), "the duplicate")
		f.gw.set(noFault, false)
	}
	require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
	p := f.status(t, "o")
	assert.Equal(t, payment.Refunded, p.Status)
	assert.True(t, f.gw.refunded["ch_o"])
	assert.Len(t, f.pub.Of(events.PaymentFailed), 1, "the order failed")
	assert.Empty(t, f.pub.Of(events.PaymentSucceeded))
	assert.Len(t, f.pub.Of(events.PaymentRefunded), 1)
}

func TestRedeliveredReservationChargesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 3; i++ {
		require.NoError(t, f.svc.OnStockReserved(context.Background(), "", reserved("o", "tok_visa")))
	}
	assert.Equal(t, 1, f.gw.calls["o"])
	ok := f.pub.Of(events.PaymentSucceeded)
	require.Len(t, ok, 3)
	assert.Equal(t, ok[0].ID, ok[2].ID)
	assert.Equal(t, "c-1", ok[0].Data.(events.PaymentSucceededData).CustomerID)
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("before the charge voids it", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
		require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
		assert.Equal(t, payment.Voided, f.status(t, "o").Status)
		assert.Zero(t, f.gw.calls["o"])
		assert.Empty(t, f.pub.Events())
	})
	t.Run("after the charge refunds once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
		require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
		require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
		assert.Equal(t, payment.Refunded, f.status(t, "o").Status)
		assert.Equal(t, 1, f.gw.refunds["refund-o"])
		refunded := f.pub.Of(events.PaymentRefunded)
		require.Len(t, refunded, 2)
		assert.Equal(t, refunded[0].ID, refunded[1].ID)
		assert.EqualValues(t, 4200, refunded[0].Data.(events.PaymentRefundedData).AmountCents)
	})
	t.Run("during the charge refunds what was charged", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.gw.during = func() { require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o"))) }
		require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_visa")))
		assert.Equal(t, payment.Refunded, f.status(t, "o").Status)
		assert.Equal(t, 1, f.gw.calls["o"])
		assert.Equal(t, 1, f.gw.refunds["refund-o"])
		assert.Empty(t, f.pub.Of(events.PaymentSucceeded), "a charge that lost to the cancellation is never announced")
		assert.Len(t, f.pub.Of(events.PaymentRefunded), 1)
	})
	t.Run("of a declined charge whose answer was lost voids it", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.gw.set(answerLost, true)
		requireUnknown(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_declined")))
		f.gw.set(answerLost, false)
		require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
		assert.Equal(t, payment.Voided, f.status(t, "o").Status)
		assert.Empty(t, f.gw.refunds)
		assert.Empty(t, f.pub.Events(), "a stopped order's decline is not announced")
	})
	t.Run("of a failed payment does nothing", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		require.NoError(t, f.svc.OnStockReserved(ctx, "", reserved("o", "tok_declined")))
		require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancelled("o")))
		assert.Empty(t, f.gw.refunds)
	})
}

func TestUnknownPayment(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.svc.Get(context.Background(), "nope")
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))
}
