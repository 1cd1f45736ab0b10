package board_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/console/board"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

type fixture struct {
	svc    *board.Service
	orders *kvfake.Store[board.Order]
	index  *kvfake.Store[board.Shard]
}

func newFixture(t *testing.T, size int) *fixture {
	t.Helper()
	f := &fixture{orders: kvfake.New[board.Order](), index: kvfake.New[board.Shard]()}
	svc, err := board.NewService(f.orders, f.index, size, func() time.Time { return t0 })
	require.NoError(t, err)
	f.svc = svc
	return f
}

// ev is the event of kind k about order id, as its publisher would send it, at offset seconds after t0.
func ev(id string, k events.Kind, offset int, data any) board.Event {
	source := map[string]string{"order": "orders", "stock": "inventory", "reservation": "inventory", "payment": "payments", "shipment": "shipping"}[strings.Split(k.Topic, ".")[0]]
	return board.Event{ID: events.ID(id, k), Kind: k, Source: source, Time: t0.Add(time.Duration(offset) * time.Second),
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Data: data}
}

func placed(id, customer string, offset int) board.Event {
	return ev(id, events.OrderPlaced, offset, events.OrderPlacedData{OrderID: id, CustomerID: customer, Email: "ada@example.com",
		Items: []events.Item{{SKU: "SKU-1", Quantity: 2}}, Payment: events.PaymentMethod{CardToken: "tok_visa"}, PlacedAt: t0.Add(time.Duration(offset) * time.Second)})
}

func reserved(id string) board.Event {
	return ev(id, events.StockReserved, 1, events.StockReservedData{OrderID: id, CustomerID: "c-42", TotalCents: 3998, Currency: "USD",
		Lines: []events.PricedLine{{SKU: "SKU-1", Name: "Beans", Quantity: 2, UnitPriceCents: 1999, LineTotalCents: 3998}}})
}

func paid(id string) board.Event {
	return ev(id, events.PaymentSucceeded, 2, events.PaymentSucceededData{OrderID: id, PaymentID: "pay-1", AmountCents: 3998, Currency: "USD"})
}

func dispatched(id string) board.Event {
	return ev(id, events.ShipmentDispatched, 3, events.ShipmentDispatchedData{OrderID: id, ShipmentID: "s-1", Carrier: "ACME", TrackingNumber: "T-1"})
}

func cancelRequested(id string) board.Event {
	return ev(id, events.OrderCancelRequested, 1, events.OrderCancelRequestedData{OrderID: id})
}

func shipmentCancelled(id, reason string) board.Event {
	return ev(id, events.ShipmentCancelled, 2, events.ShipmentCancelledData{OrderID: id, Reason: reason})
}

func orderCancelled(id, reason string) board.Event {
	return ev(id, events.OrderCancelled, 3, events.OrderCancelledData{OrderID: id, Reason: reason})
}

func released(id string) board.Event {
	return ev(id, events.StockReleased, 4, events.StockReleasedData{OrderID: id, Reason: "payment_failed"})
}

// arrivalOrders calls fn with every order of evs, or with 200 random ones when there are more than 120 (a path
// of six events or more: hundreds to tens of thousands of orders, slow under -race for what each adds).
func arrivalOrders(evs []board.Event, fn func([]board.Event)) {
	if len(evs) > 5 {
		for range 200 {
			rand.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			fn(evs)
		}
		return
	}
	var rec func(int)
	rec = func(k int) {
		if k == len(evs) {
			fn(evs)
			return
		}
		for i := k; i < len(evs); i++ {
			evs[k], evs[i] = evs[i], evs[k]
			rec(k + 1)
			evs[k], evs[i] = evs[i], evs[k]
		}
	}
	rec(0)
}

func TestEveryArrivalOrderEndsInTheSameStatusWithoutGoingBack(t *testing.T) {
	t.Parallel()
	id := "o-1"
	tests := []struct {
		name   string
		evs    []board.Event
		status board.Status
		reason string
	}{
		{"shipped", []board.Event{placed(id, "c-42", 0), reserved(id), paid(id), dispatched(id)}, board.Shipped, ""},
		{"rejected", []board.Event{placed(id, "c-42", 0), ev(id, events.StockRejected, 1, events.StockRejectedData{OrderID: id, Reason: "insufficient_stock"})},
			board.Rejected, "insufficient_stock"},
		{"payment failed", []board.Event{placed(id, "c-42", 0), reserved(id),
			ev(id, events.PaymentFailed, 2, events.PaymentFailedData{OrderID: id, Code: "card_declined", Reason: "declined"}), released(id)},
			board.PaymentFailed, "card_declined"},
		{"cancelled before payment", []board.Event{placed(id, "c-42", 0), cancelRequested(id), reserved(id),
			shipmentCancelled(id, events.ReasonCustomerRequest), orderCancelled(id, events.ReasonCustomerRequest), released(id)},
			board.Cancelled, events.ReasonCustomerRequest},
		{"refunded after payment", []board.Event{placed(id, "c-42", 0), reserved(id), paid(id), cancelRequested(id),
			shipmentCancelled(id, events.ReasonCustomerRequest), orderCancelled(id, events.ReasonCustomerRequest),
			ev(id, events.PaymentRefunded, 5, events.PaymentRefundedData{OrderID: id, AmountCents: 3998})},
			board.Cancelled, events.ReasonCustomerRequest},
		{"expired", []board.Event{placed(id, "c-42", 0), reserved(id), ev(id, events.ReservationExpired, 2, events.ReservationExpiredData{OrderID: id}),
			shipmentCancelled(id, events.ReasonReservationExpired), orderCancelled(id, events.ReasonReservationExpired), released(id)},
			board.Expired, events.ReasonReservationExpired},
		// orders applied the cancellation before the rejection, so it ended CANCELLED and announced it: the
		// board ends there too, whichever of the three events it saw first.
		{"a cancellation that won the race against a rejection", []board.Event{placed(id, "c-42", 0),
			ev(id, events.StockRejected, 1, events.StockRejectedData{OrderID: id, Reason: "insufficient_stock"}),
			shipmentCancelled(id, events.ReasonCustomerRequest), orderCancelled(id, events.ReasonCustomerRequest)},
			board.Cancelled, events.ReasonCustomerRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runs := 0
			arrivalOrders(slices.Clone(tc.evs), func(order []board.Event) {
				runs++
				f := newFixture(t, 10)
				// Every event arrives twice: once in this order, and once more at a random later point.
				deliveries := slices.Clone(order)
				for _, e := range order {
					// The original of order[i] sits at or after position i; its duplicate goes somewhere after it.
					first := slices.IndexFunc(deliveries, func(d board.Event) bool { return d.ID == e.ID })
					at := first + 1 + rand.IntN(len(deliveries)-first)
					deliveries = slices.Insert(deliveries, at, e)
				}
				last := -1
				for _, e := range deliveries {
					require.NoError(t, f.svc.Apply(context.Background(), e))
					o, ok, err := f.svc.Order(context.Background(), id)
					require.NoError(t, err)
					require.True(t, ok)
					require.GreaterOrEqual(t, o.Rank(), last, "status went back to %s after %s (order %v)", o.Status, e.Kind.Topic, topics(order))
					last = o.Rank()
				}
				o, _, err := f.svc.Order(context.Background(), id)
				require.NoError(t, err)
				require.Equal(t, tc.status, o.Status, "after %v", topics(order))
				require.Equal(t, tc.reason, o.Reason)
				require.Len(t, o.Steps, len(tc.evs), "one step per event, duplicates ignored")
				require.Equal(t, len(tc.evs), o.Version)
				require.True(t, slices.IsSortedFunc(o.Steps, func(a, b board.Step) int { return a.At.Compare(b.At) }), "the timeline is in event time")
			})
			t.Logf("%d arrival orders", runs)
		})
	}
}

func topics(evs []board.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind.Topic
	}
	return out
}

func TestTheRecordSaysWhoPublishedWhatAndWhen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	for _, e := range []board.Event{dispatched("o-1"), placed("o-1", "c-42", 0), reserved("o-1"), paid("o-1")} {
		require.NoError(t, f.svc.Apply(context.Background(), e))
	}
	o, _, err := f.svc.Order(context.Background(), "o-1")
	require.NoError(t, err)
	assert.Equal(t, board.Shipped, o.Status)
	assert.Equal(t, "c-42", o.CustomerID)
	assert.Equal(t, int64(3998), *o.TotalCents)
	assert.Equal(t, "pay-1", o.PaymentID)
	assert.Equal(t, "T-1", o.Tracking)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", o.TraceID)
	assert.False(t, o.Partial())
	require.Len(t, o.Steps, 4)
	var sources, summaries []string
	for _, s := range o.Steps {
		sources = append(sources, s.Source)
		summaries = append(summaries, s.Summary)
	}
	assert.Equal(t, []string{"orders", "inventory", "payments", "shipping"}, sources, "in saga order, though dispatch arrived first")
	assert.Equal(t, "placed SKU-1×2", summaries[0])
	assert.Contains(t, summaries[1], "total $39.98")
	assert.Equal(t, "charged $39.98 (pay-1)", summaries[2])
	assert.Equal(t, "dispatched with ACME, tracking T-1", summaries[3])
}

func TestConcurrentDeliveriesLoseNoEventAndApplyEachOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	evs := []board.Event{placed("o-1", "c-42", 0), reserved("o-1"), paid("o-1"), dispatched("o-1"), cancelRequested("o-1")}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(evs))
	for range 4 {
		for _, e := range evs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- f.svc.Apply(context.Background(), e)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	o, _, err := f.svc.Order(context.Background(), "o-1")
	require.NoError(t, err)
	assert.Equal(t, board.Shipped, o.Status)
	assert.Len(t, o.Steps, len(evs))
	assert.Equal(t, len(evs), o.Version)
	snap := f.svc.Board(board.Filter{All: true})
	require.Len(t, snap.Orders, 1)
	assert.Equal(t, 1, snap.Throughput.Outcomes[board.Shipped], "an outcome is counted once")
	assert.Equal(t, len(evs), snap.Throughput.Events, "duplicates are not counted")
}

func TestBoardIsBoundedAndSurvivesARestart(t *testing.T) {
	t.Parallel()
	const size, placedOrders = 20, 200
	f := newFixture(t, size)
	for i := range placedOrders {
		require.NoError(t, f.svc.Apply(context.Background(), placed(fmt.Sprintf("o-%03d", i), "c-42", i)))
	}
	snap := f.svc.Board(board.Filter{All: true})
	require.Len(t, snap.Orders, size)
	assert.Equal(t, "o-199", snap.Orders[0].ID, "newest first")
	assert.Equal(t, fmt.Sprintf("o-%03d", placedOrders-size), snap.Orders[size-1].ID)
	kept := 0
	for _, k := range f.orders.Keys() {
		if strings.HasPrefix(k, "order/") {
			kept++
		}
	}
	assert.LessOrEqual(t, kept, board.Shards*(2*size/board.Shards+1)+board.Shards*8, "the store keeps a bounded number of orders")
	assert.Less(t, kept, placedOrders)

	restarted, err := board.NewService(f.orders, f.index, size, func() time.Time { return t0 })
	require.NoError(t, err)
	require.NoError(t, restarted.Load(context.Background()))
	assert.Equal(t, snap.Orders, restarted.Board(board.Filter{All: true}).Orders, "a restarted console shows the same board")
}

func TestCustomersSeeTheirOwnOrdersOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	require.NoError(t, f.svc.Apply(context.Background(), placed("o-1", "c-42", 0)))
	require.NoError(t, f.svc.Apply(context.Background(), placed("o-2", "c-7", 1)))
	// An event that overtook its order.placed names no customer yet: nobody but operators sees it.
	require.NoError(t, f.svc.Apply(context.Background(), paid("o-3")))

	ids := func(s board.Snapshot) []string {
		var out []string
		for _, o := range s.Orders {
			out = append(out, o.ID)
		}
		return out
	}
	assert.Equal(t, []string{"o-1"}, ids(f.svc.Board(board.Filter{Subject: "c-42"})))
	assert.Equal(t, []string{"o-2"}, ids(f.svc.Board(board.Filter{Subject: "c-7"})))
	assert.ElementsMatch(t, []string{"o-1", "o-2", "o-3"}, ids(f.svc.Board(board.Filter{All: true})))
	assert.Empty(t, f.svc.Rows(board.Filter{Subject: "c-7"}, []string{"o-1", "o-3"}))
}

func TestViewersLearnWhichOrdersChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	mine, stopMine, err := f.svc.Watch(board.Filter{Subject: "c-42"})
	require.NoError(t, err)
	defer stopMine()
	ops, stopOps, err := f.svc.Watch(board.Filter{All: true})
	require.NoError(t, err)

	require.NoError(t, f.svc.Apply(context.Background(), placed("o-1", "c-42", 0)))
	require.NoError(t, f.svc.Apply(context.Background(), reserved("o-1")))
	require.NoError(t, f.svc.Apply(context.Background(), placed("o-2", "c-7", 1)))
	require.NoError(t, f.svc.Apply(context.Background(), reserved("o-1")), "a duplicate")

	select {
	case <-mine.Changed():
	default:
		t.Fatal("the customer's viewer was not signalled")
	}
	assert.Equal(t, []string{"o-1"}, mine.Take(), "each changed order once, and only the customer's own")
	assert.Empty(t, mine.Take())
	assert.ElementsMatch(t, []string{"o-1", "o-2"}, ops.Take())
	stopOps()
	require.NoError(t, f.svc.Apply(context.Background(), paid("o-2")))
	assert.Empty(t, ops.Take(), "a stopped viewer hears nothing more")
}

func TestOnlyStockMovingEventsSignalTheStockPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	signalled := func() bool {
		select {
		case <-f.svc.StockChanges():
			return true
		default:
			return false
		}
	}
	require.NoError(t, f.svc.Apply(context.Background(), placed("o-1", "c-42", 0)))
	assert.False(t, signalled())
	require.NoError(t, f.svc.Apply(context.Background(), reserved("o-1")))
	assert.True(t, signalled())
	require.NoError(t, f.svc.Apply(context.Background(), reserved("o-1")))
	assert.False(t, signalled(), "a duplicate moves no stock")
}

func TestEventsWithoutAnOrderAreRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	err := f.svc.Apply(context.Background(), board.Event{ID: "x", Kind: events.OrderPlaced, Data: events.OrderPlacedData{}})
	require.Error(t, err)
	_, err = board.NewService(f.orders, f.index, 0, time.Now)
	require.Error(t, err)
}

func TestMoney(t *testing.T) {
	t.Parallel()
	for cents, want := range map[int64]string{0: "$0.00", 5: "$0.05", 3998: "$39.98", -150: "-$1.50"} {
		assert.Equal(t, want, board.Money(cents, "USD"))
	}
	assert.Equal(t, "1.00 EUR", board.Money(100, "EUR"))
}
