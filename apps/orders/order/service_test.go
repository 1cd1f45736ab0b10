package order_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/orders/order"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
)

// testSLA is the fixture's ORDER_SLA.
const testSLA = 2 * time.Minute

type fixture struct {
	svc    *order.Service
	orders *kvfake.Store[order.Order]
	open   *kvfake.Store[order.OpenShard]
	pub    *eventstest.Publisher
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		orders: kvfake.New[order.Order](),
		open:   kvfake.New[order.OpenShard](),
		pub:    &eventstest.Publisher{},
		now:    time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
	var n atomic.Int64
	f.svc = order.NewService(f.orders, kvfake.New[order.Claim](), kvfake.New[order.CustomerIndex](), f.open, f.pub, testSLA,
		func() time.Time { return f.now },
		func() string { return fmt.Sprintf("order-%d", n.Add(1)) })
	return f
}

func validCommand() order.PlaceCommand {
	return order.PlaceCommand{
		CustomerID: "c-42", Email: "ada@example.com",
		Items:   []events.Item{{SKU: "SKU-1", Quantity: 2}},
		Payment: events.PaymentMethod{CardToken: "tok_visa"},
	}
}

func (f *fixture) place(t *testing.T) order.Order {
	t.Helper()
	o, placement, err := f.svc.Place(context.Background(), validCommand())
	require.NoError(t, err)
	require.Equal(t, order.Created, placement)
	return o
}

// deliverPlaced hands every published order.placed to OnPlaced, as orders' own subscription does; that is
// what lists an order under its customer.
func (f *fixture) deliverPlaced(t *testing.T) {
	t.Helper()
	for _, e := range f.pub.Of(events.OrderPlaced) {
		require.NoError(t, f.svc.OnPlaced(context.Background(), e.ID, e.Data.(events.OrderPlacedData)))
	}
}

func (f *fixture) get(t *testing.T, id string) order.Order {
	t.Helper()
	o, err := f.svc.Get(context.Background(), id)
	require.NoError(t, err)
	return o
}

func TestPlaceRejectsInvalidCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(c *order.PlaceCommand)
		field  string
	}{
		{"missing customer", func(c *order.PlaceCommand) { c.CustomerID = "" }, "customerId"},
		{"customer with spaces", func(c *order.PlaceCommand) { c.CustomerID = "c 42" }, "customerId"},
		{"malformed email", func(c *order.PlaceCommand) { c.Email = "ada-at-example" }, "email"},
		{"email with display name", func(c *order.PlaceCommand) { c.Email = "Ada <ada@example.com>" }, "email"},
		{"no items", func(c *order.PlaceCommand) { c.Items = nil }, "items"},
		{"empty sku", func(c *order.PlaceCommand) { c.Items[0].SKU = "" }, "items[0].sku"},
		{"zero quantity", func(c *order.PlaceCommand) { c.Items[0].Quantity = 0 }, "items[0].quantity"},
		{"huge quantity", func(c *order.PlaceCommand) { c.Items[0].Quantity = order.MaxQuantity + 1 }, "items[0].quantity"},
		{"duplicate sku", func(c *order.PlaceCommand) {
			c.Items = append(c.Items, events.Item{SKU: "SKU-1", Quantity: 1})
		}, "items[1].sku"},
		{"missing card token", func(c *order.PlaceCommand) { c.Payment.CardToken = "" }, "payment.cardToken"},
		{"card number instead of token", func(c *order.PlaceCommand) { c.Payment.CardToken = "4111111111111111" }, "payment.cardToken"},
		{"idempotency key with spaces", func(c *order.PlaceCommand) { c.IdempotencyKey = "a b" }, "Idempotency-Key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			cmd := validCommand()
			tc.mutate(&cmd)
			_, _, err := f.svc.Place(context.Background(), cmd)
			e, ok := apperr.As(err)
			require.True(t, ok, "want an apperr, got %v", err)
			assert.Equal(t, apperr.Invalid, e.Code)
			assert.Equal(t, tc.field, e.Field)
			assert.Empty(t, f.pub.Events(), "nothing is published for invalid input")
		})
	}
}

func TestPlaceStoresPendingOrderAndAnnouncesIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.place(t)

	assert.Equal(t, order.Pending, o.Status)
	require.Len(t, o.History, 1)
	assert.Equal(t, f.now, o.History[0].At)
	placed := f.pub.Of(events.OrderPlaced)
	require.Len(t, placed, 1)
	assert.Equal(t, o.ID+"/order.placed", placed[0].ID)
	data := placed[0].Data.(events.OrderPlacedData)
	assert.Equal(t, "tok_visa", data.Payment.CardToken)
	assert.Equal(t, o.ID, f.get(t, o.ID).ID)

	f.deliverPlaced(t)
	list, err := f.svc.List(context.Background(), "c-42", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestPlaceWithIdempotencyKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		second      func(c *order.PlaceCommand)
		wantErrCode apperr.Code
		// wantNew: the second request is a new order, the key being another customer's.
		wantNew bool
	}{
		{name: "same body replays the order", second: func(*order.PlaceCommand) {}},
		{name: "different body conflicts", second: func(c *order.PlaceCommand) { c.Items[0].Quantity = 3 }, wantErrCode: apperr.Conflict},
		{name: "another customer's key is a new key", wantNew: true,
			second: func(c *order.PlaceCommand) { c.CustomerID, c.Items[0].Quantity = "c-7", 3 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			cmd := validCommand()
			cmd.IdempotencyKey = "key-1"
			first, placement, err := f.svc.Place(context.Background(), cmd)
			require.NoError(t, err)
			require.Equal(t, order.Created, placement)

			again := validCommand()
			again.IdempotencyKey = "key-1"
			tc.second(&again)
			replayed, placement, err := f.svc.Place(context.Background(), again)
			if tc.wantErrCode != "" {
				assert.Equal(t, tc.wantErrCode, apperr.CodeOf(err))
				return
			}
			require.NoError(t, err)
			if tc.wantNew {
				assert.Equal(t, order.Created, placement)
				assert.NotEqual(t, first.ID, replayed.ID)
				assert.Len(t, f.pub.Of(events.OrderPlaced), 2)
				return
			}
			assert.Equal(t, order.Replayed, placement)
			assert.Equal(t, first.ID, replayed.ID)
			assert.Len(t, f.pub.Of(events.OrderPlaced), 1, "a replay of a finished request publishes nothing")
		})
	}
}

func TestPlaceReplayFinishesARequestThatDiedAfterClaiming(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cmd := validCommand()
	cmd.IdempotencyKey = "key-crash"
	f.pub.FailNext(apperr.New(apperr.Unavailable, "sidecar down"))
	_, _, err := f.svc.Place(context.Background(), cmd)
	require.Error(t, err)
	assert.Empty(t, f.orders.Keys(), "nothing is stored when the announcement fails")

	o, placement, err := f.svc.Place(context.Background(), cmd)
	require.NoError(t, err)
	assert.Equal(t, order.Replayed, placement, "the retry completes the first request rather than creating a second order")
	assert.Equal(t, "order-1", o.ID)
	assert.Len(t, f.pub.Of(events.OrderPlaced), 1)
}

// TestPlaceReplayAnnouncesTheFirstAttemptsOrder: a publish reported as failed may still have reached the
// broker, so the retry that finishes the request must announce the same order, placed when the first attempt
// placed it — not a copy placed later, which would put PENDING after the saga's next steps in the history.
func TestPlaceReplayAnnouncesTheFirstAttemptsOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cmd := validCommand()
	cmd.IdempotencyKey = "key-late"
	placedAt := f.now
	f.pub.FailNext(apperr.New(apperr.Unavailable, "publish timed out"))
	_, _, err := f.svc.Place(context.Background(), cmd)
	require.Error(t, err)

	f.now = f.now.Add(5 * time.Second)
	o, _, err := f.svc.Place(context.Background(), cmd)
	require.NoError(t, err)
	assert.Equal(t, placedAt, o.CreatedAt)
	assert.Equal(t, placedAt, o.History[0].At)
	placed := f.pub.Of(events.OrderPlaced)
	require.Len(t, placed, 1)
	assert.Equal(t, placedAt, placed[0].Time, "the announcement is the first attempt's")
}

func TestOnPlacedStoresAnOrderTheAPIDidNotStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.orders.FailNext(errors.New("state store down"))
	announced, placement, err := f.svc.Place(context.Background(), validCommand())
	require.NoError(t, err, "the order is placed once it is announced")
	assert.Equal(t, order.Announced, placement)
	placed := f.pub.Of(events.OrderPlaced)
	require.Len(t, placed, 1, "the event went out before the store failed")
	_, err = f.svc.Get(context.Background(), announced.ID)
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err), "not readable until its event is applied")

	data := placed[0].Data.(events.OrderPlacedData)
	require.NoError(t, f.svc.OnPlaced(context.Background(), placed[0].ID, data))
	o := f.get(t, data.OrderID)
	assert.Equal(t, order.Pending, o.Status)
	list, err := f.svc.List(context.Background(), "c-42", 10)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	require.NoError(t, f.svc.OnPlaced(context.Background(), placed[0].ID, data), "a redelivery is harmless")
}

func TestEventsDriveTheStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 12, 0, 1, 0, time.UTC)
	reserved := func(s *order.Service, id string) error {
		return s.OnStockReserved(ctx, id+"/stock.reserved", events.StockReservedData{OrderID: id, TotalCents: 1998, Currency: "USD",
			Lines: []events.PricedLine{{SKU: "SKU-1", Quantity: 2, UnitPriceCents: 999, LineTotalCents: 1998}}, ReservedAt: at})
	}
	rejected := func(s *order.Service, id string) error {
		return s.OnStockRejected(ctx, id+"/stock.rejected", events.StockRejectedData{OrderID: id, Reason: "out of stock", RejectedAt: at})
	}
	paid := func(s *order.Service, id string) error {
		return s.OnPaymentSucceeded(ctx, id+"/payment.succeeded", events.PaymentSucceededData{OrderID: id, PaymentID: "pay-1", PaidAt: at})
	}
	declined := func(s *order.Service, id string) error {
		return s.OnPaymentFailed(ctx, id+"/payment.failed", events.PaymentFailedData{OrderID: id, Reason: "declined", FailedAt: at})
	}
	dispatched := func(s *order.Service, id string) error {
		return s.OnShipmentDispatched(ctx, id+"/shipment.dispatched", events.ShipmentDispatchedData{OrderID: id, ShipmentID: "s-1", TrackingNumber: "T1", DispatchedAt: at})
	}
	stopped := func(reason string) func(s *order.Service, id string) error {
		return func(s *order.Service, id string) error {
			return s.OnShipmentCancelled(ctx, id+"/shipment.cancelled", events.ShipmentCancelledData{OrderID: id, Reason: reason, CancelledAt: at})
		}
	}
	type step func(s *order.Service, id string) error
	tests := []struct {
		name    string
		steps   []step
		want    order.Status
		history []order.Status
	}{
		{"happy path", []step{reserved, paid, dispatched}, order.Shipped, []order.Status{order.Pending, order.Reserved, order.Paid, order.Shipped}},
		{"rejected", []step{rejected}, order.Rejected, []order.Status{order.Pending, order.Rejected}},
		{"payment declined", []step{reserved, declined}, order.PaymentFailed, []order.Status{order.Pending, order.Reserved, order.PaymentFailed}},
		{"payment before reservation never goes back, and records the reservation in place", []step{paid, reserved}, order.Paid, []order.Status{order.Pending, order.Reserved, order.Paid}},
		{"reservation learned after shipping", []step{paid, dispatched, reserved}, order.Shipped, []order.Status{order.Pending, order.Reserved, order.Paid, order.Shipped}},
		{"reservation learned after a decline", []step{declined, reserved}, order.PaymentFailed, []order.Status{order.Pending, order.Reserved, order.PaymentFailed}},
		{"cancelled by customer", []step{reserved, stopped(events.ReasonCustomerRequest)}, order.Cancelled, []order.Status{order.Pending, order.Reserved, order.Cancelled}},
		{"expired", []step{reserved, stopped(events.ReasonReservationExpired)}, order.Expired, []order.Status{order.Pending, order.Reserved, order.Expired}},
		{"terminal status is final", []step{rejected, reserved, paid}, order.Rejected, []order.Status{order.Pending, order.Rejected}},
		{"duplicates have one effect", []step{reserved, reserved, paid, paid}, order.Paid, []order.Status{order.Pending, order.Reserved, order.Paid}},
		{"a failed order is not cancelled again", []step{declined, stopped(events.ReasonCustomerRequest)}, order.PaymentFailed, []order.Status{order.Pending, order.PaymentFailed}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			o := f.place(t)
			for _, s := range tc.steps {
				require.NoError(t, s(f.svc, o.ID))
			}
			got := f.get(t, o.ID)
			assert.Equal(t, tc.want, got.Status)
			var history []order.Status
			for _, h := range got.History {
				history = append(history, h.Status)
			}
			assert.Equal(t, tc.history, history)
		})
	}
}

// TestHistoryNeverGoesBackInTime: services decide concurrently, so an event orders applies later can carry an
// earlier time — shipping decided a cancellation 72 ms before inventory's reservation that orders learned first
// (found by the chaos suite). The history is the order's path as orders applied it: never dated backwards.
func TestHistoryNeverGoesBackInTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	o := f.place(t)
	reservedAt := o.CreatedAt.Add(10 * time.Second)
	require.NoError(t, f.svc.OnStockReserved(ctx, o.ID+"/stock.reserved", events.StockReservedData{OrderID: o.ID, TotalCents: 999,
		Currency: "USD", Lines: []events.PricedLine{{SKU: "SKU-1", Quantity: 1, UnitPriceCents: 999, LineTotalCents: 999}}, ReservedAt: reservedAt}))
	require.NoError(t, f.svc.OnShipmentCancelled(ctx, o.ID+"/shipment.cancelled", events.ShipmentCancelledData{OrderID: o.ID,
		Reason: events.ReasonCustomerRequest, CancelledAt: reservedAt.Add(-72 * time.Millisecond)}))
	got := f.get(t, o.ID)
	require.Equal(t, order.Cancelled, got.Status)
	for i := 1; i < len(got.History); i++ {
		assert.False(t, got.History[i].At.Before(got.History[i-1].At), "history %v goes back in time at %s", got.History, got.History[i].Status)
	}
}

func TestShipmentCancelledAnnouncesTheStopEvenOnRedelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.place(t)
	ev := events.ShipmentCancelledData{OrderID: o.ID, Reason: events.ReasonCustomerRequest, CancelledAt: f.now}
	require.NoError(t, f.svc.OnShipmentCancelled(context.Background(), o.ID+"/shipment.cancelled", ev))
	require.NoError(t, f.svc.OnShipmentCancelled(context.Background(), o.ID+"/shipment.cancelled", ev))

	cancelled := f.pub.Of(events.OrderCancelled)
	require.Len(t, cancelled, 2, "the redelivery publishes again, in case the first publish was lost")
	assert.Equal(t, cancelled[0].ID, cancelled[1].ID, "with the same id, so consumers deduplicate")
	assert.Equal(t, events.ReasonCustomerRequest, cancelled[0].Data.(events.OrderCancelledData).Reason)
}

func TestEventForAnUnknownOrderAsksForRedelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	err := f.svc.OnPaymentSucceeded(context.Background(), "x/payment.succeeded", events.PaymentSucceededData{OrderID: "x", PaymentID: "p"})
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err))
}

func TestRequestCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		shipped  bool
		wantCode apperr.Code
	}{
		{name: "pending order", wantCode: ""},
		{name: "shipped order", shipped: true, wantCode: apperr.Conflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			o := f.place(t)
			if tc.shipped {
				require.NoError(t, f.svc.OnShipmentDispatched(context.Background(), o.ID+"/shipment.dispatched",
					events.ShipmentDispatchedData{OrderID: o.ID, ShipmentID: "s", TrackingNumber: "t"}))
			}
			_, err := f.svc.RequestCancel(context.Background(), o.CustomerID, o.ID)
			assert.Equal(t, tc.wantCode, apperr.CodeOf(err))
			want := 1
			if tc.wantCode != "" {
				want = 0
			}
			assert.Len(t, f.pub.Of(events.OrderCancelRequested), want)
		})
	}
	t.Run("unknown order", func(t *testing.T) {
		t.Parallel()
		_, err := newFixture(t).svc.RequestCancel(context.Background(), "c-42", "nope")
		assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))
	})
	t.Run("another customer's order is not found", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		o := f.place(t)
		_, err := f.svc.RequestCancel(context.Background(), "c-7", o.ID)
		assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))
		assert.Empty(t, f.pub.Of(events.OrderCancelRequested))
	})
}

func TestGetForShowsOnlyOwnOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.place(t)
	tests := []struct {
		name, customer, id string
		wantCode           apperr.Code
	}{
		{name: "own order", customer: o.CustomerID, id: o.ID},
		{name: "another customer's order", customer: "c-7", id: o.ID, wantCode: apperr.NotFound},
		{name: "no such order", customer: o.CustomerID, id: "nope", wantCode: apperr.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.svc.GetFor(context.Background(), tc.customer, tc.id)
			assert.Equal(t, tc.wantCode, apperr.CodeOf(err))
			if tc.wantCode == "" {
				assert.Equal(t, o.ID, got.ID)
			}
		})
	}
}

func TestListIsNewestFirstAndLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, f.place(t).ID)
		f.now = f.now.Add(time.Second)
	}
	f.deliverPlaced(t)
	list, err := f.svc.List(context.Background(), "c-42", 2)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, ids[2], list[0].ID)
	assert.Equal(t, ids[1], list[1].ID)

	_, err = f.svc.List(context.Background(), "c-42", 0)
	assert.Equal(t, apperr.Invalid, apperr.CodeOf(err))
	empty, err := f.svc.List(context.Background(), "nobody", 10)
	require.NoError(t, err)
	assert.Empty(t, empty)
}
