package order_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/orders/order"
	"orderflow/internal/events"
)

func (f *fixture) sweep(t *testing.T) order.SweepResult {
	t.Helper()
	res, err := f.svc.Sweep(context.Background())
	require.NoError(t, err)
	return res
}

func (f *fixture) overdue(t *testing.T) order.OverdueReport {
	t.Helper()
	rep, err := f.svc.ListOverdue(context.Background(), order.MaxListedOrders)
	require.NoError(t, err)
	return rep
}

// indexed reports whether the index of open orders lists the order, whichever shard holds it.
func (f *fixture) indexed(t *testing.T, id string) bool {
	t.Helper()
	for _, key := range f.open.Keys() {
		sh, _, err := f.open.Get(context.Background(), key)
		require.NoError(t, err)
		if _, ok := sh.Orders[id]; ok {
			return true
		}
	}
	return false
}

// published returns what was published from the index from on, to see what one step published.
func (f *fixture) published(from int) []events.Event {
	return f.pub.Events()[from:]
}

func reserved(t *testing.T, f *fixture, o order.Order) {
	t.Helper()
	require.NoError(t, f.svc.OnStockReserved(context.Background(), o.ID+"/stock.reserved", events.StockReservedData{
		OrderID: o.ID, TotalCents: 3998, Currency: events.Currency, ReservedAt: f.now,
	}))
}

func TestSweepRedrivesAnOrderPastItsSLA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare moves the order along before the clock runs out.
		prepare     func(t *testing.T, f *fixture, o order.Order)
		idle        time.Duration
		wantStatus  order.Status
		wantTopics  []string
		wantOverdue int
	}{
		{
			name: "pending since it was placed", prepare: func(*testing.T, *fixture, order.Order) {},
			idle: testSLA, wantStatus: order.Pending, wantTopics: []string{"order.placed"}, wantOverdue: 1,
		},
		{
			name: "reserved, then nothing", prepare: reserved,
			idle: testSLA + time.Second, wantStatus: order.Reserved, wantTopics: []string{"order.placed"}, wantOverdue: 1,
		},
		{
			name: "cancellation requested and never answered",
			prepare: func(t *testing.T, f *fixture, o order.Order) {
				_, err := f.svc.RequestCancel(context.Background(), o.CustomerID, o.ID)
				require.NoError(t, err)
				require.NoError(t, f.svc.OnCancelRequested(context.Background(), o.ID+"/order.cancel-requested",
					events.OrderCancelRequestedData{OrderID: o.ID, RequestedAt: f.now}))
			},
			idle: testSLA, wantStatus: order.Pending, wantTopics: []string{"order.placed", "order.cancel-requested"}, wantOverdue: 1,
		},
		{
			name: "changed less than the SLA ago", prepare: reserved,
			idle: testSLA - time.Second, wantStatus: order.Reserved,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			o := f.place(t)
			f.now = f.now.Add(time.Minute)
			tc.prepare(t, f, o)
			f.now = f.now.Add(tc.idle)
			before := len(f.pub.Events())

			res := f.sweep(t)

			assert.Equal(t, order.SweepResult{Overdue: tc.wantOverdue, Redriven: tc.wantOverdue}, res)
			var topics []string
			for _, e := range f.published(before) {
				topics = append(topics, e.Kind.Topic)
				assert.Equal(t, o.ID+"/"+e.Kind.Topic, e.ID, "a re-drive keeps the event's deterministic id")
				if e.Kind == events.OrderPlaced {
					assert.Equal(t, f.pub.Of(events.OrderPlaced)[0], e, "the same order.placed as when it was placed")
				}
			}
			assert.Equal(t, tc.wantTopics, topics)
			rep := f.overdue(t)
			require.Len(t, rep.Orders, tc.wantOverdue)
			if tc.wantOverdue > 0 {
				got := rep.Orders[0]
				assert.Equal(t, o.ID, got.Order.ID)
				assert.Equal(t, tc.wantStatus, got.Order.Status)
				assert.Equal(t, 1, got.Redrives)
				assert.Equal(t, f.now.Sub(o.CreatedAt), got.Age)
				assert.False(t, got.Stuck)
			}
		})
	}
}

func TestSweepDropsFinishedOrdersFromTheIndex(t *testing.T) {
	t.Parallel()
	rejected := func(t *testing.T, f *fixture, o order.Order) {
		t.Helper()
		require.NoError(t, f.svc.OnStockRejected(context.Background(), o.ID+"/stock.rejected", events.StockRejectedData{
			OrderID: o.ID, Reason: "no stock", RejectedAt: f.now,
		}), "the event is applied even though the index could not be updated")
	}
	tests := []struct {
		name string
		// finish ends the order in a way that leaves it in the index.
		finish func(t *testing.T, f *fixture, o order.Order)
	}{
		{"removal failed when it was rejected", func(t *testing.T, f *fixture, o order.Order) {
			f.open.FailNext(errors.New("state store down"))
			rejected(t, f, o)
		}},
		{"removal failed when it shipped after a re-drive", func(t *testing.T, f *fixture, o order.Order) {
			f.now = f.now.Add(testSLA)
			require.Equal(t, 1, f.sweep(t).Redriven)
			reserved(t, f, o)
			for _, step := range []func() error{
				func() error {
					return f.svc.OnPaymentSucceeded(context.Background(), o.ID+"/payment.succeeded",
						events.PaymentSucceededData{OrderID: o.ID, PaymentID: "pay-1", PaidAt: f.now})
				},
				func() error {
					f.open.FailNext(errors.New("state store down"))
					return f.svc.OnShipmentDispatched(context.Background(), o.ID+"/shipment.dispatched",
						events.ShipmentDispatchedData{OrderID: o.ID, ShipmentID: "shp-1", DispatchedAt: f.now})
				},
			} {
				require.NoError(t, step())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			o := f.place(t)
			tc.finish(t, f, o)
			require.True(t, f.indexed(t, o.ID), "the failed removal left the finished order in the index")
			f.now = f.now.Add(10 * testSLA)
			assert.Empty(t, f.overdue(t).Orders, "a finished order is never listed as overdue")
			before := len(f.pub.Events())

			assert.Equal(t, order.SweepResult{Closed: 1}, f.sweep(t))
			assert.False(t, f.indexed(t, o.ID))
			assert.Empty(t, f.published(before), "a finished order is not re-driven")
		})
	}
}

func TestFinishedOrderLeavesTheIndexAndARedeliveryDoesNotBringItBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.place(t)
	require.True(t, f.indexed(t, o.ID), "placing lists the order as open")
	require.NoError(t, f.svc.OnStockRejected(context.Background(), o.ID+"/stock.rejected", events.StockRejectedData{
		OrderID: o.ID, Reason: "no stock", RejectedAt: f.now,
	}))
	assert.False(t, f.indexed(t, o.ID), "a terminal status takes it out")

	f.deliverPlaced(t)
	assert.False(t, f.indexed(t, o.ID), "a late order.placed (a redelivery or a re-drive) does not list a finished order")
}

func TestRedrivesStopAfterThreeAndTheOrderIsMarkedStuck(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o := f.place(t)
	// Steps run in order on one order; each advances the clock, may act, then sweeps.
	steps := []struct {
		name         string
		advance      time.Duration
		act          func(t *testing.T)
		wantRedriven int
		wantStuck    bool
		wantRedrives int
	}{
		{name: "first re-drive once past the SLA", advance: testSLA, wantRedriven: 1, wantRedrives: 1},
		{name: "a re-drive gets a whole SLA to show an effect", advance: 10 * time.Second, wantRedrives: 1},
		{name: "second re-drive", advance: testSLA, wantRedriven: 1, wantRedrives: 2},
		{name: "third re-drive", advance: testSLA, wantRedriven: 1, wantRedrives: 3},
		{name: "no progress after three: stuck", advance: testSLA, wantStuck: true, wantRedrives: 3},
		{name: "a stuck order is not re-driven again", advance: 5 * testSLA, wantStuck: true, wantRedrives: 3},
		{
			name: "progress starts the count again", advance: testSLA,
			act:          func(t *testing.T) { reserved(t, f, o); f.now = f.now.Add(testSLA) },
			wantRedriven: 1, wantRedrives: 1,
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.now = f.now.Add(st.advance)
			if st.act != nil {
				st.act(t)
			}
			res := f.sweep(t)
			assert.Equal(t, st.wantRedriven, res.Redriven)
			assert.Equal(t, 1, res.Overdue)
			rep := f.overdue(t)
			require.Len(t, rep.Orders, 1)
			assert.Equal(t, st.wantRedrives, rep.Orders[0].Redrives)
			assert.Equal(t, st.wantStuck, rep.Orders[0].Stuck)
			if st.wantStuck {
				assert.Equal(t, 1, rep.Stuck)
			}
		})
	}
	assert.Len(t, f.pub.Of(events.OrderPlaced), 1+order.MaxRedrives+1, "placed, three re-drives, one after progress")
}

func TestConcurrentPlacementsLoseNoIndexEntry(t *testing.T) {
	t.Parallel()
	const n = 200
	f := newFixture(t)
	var wg sync.WaitGroup
	ids := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			cmd := validCommand()
			cmd.CustomerID = fmt.Sprintf("c-%d", i)
			o, _, err := f.svc.Place(context.Background(), cmd)
			if !assert.NoError(t, err) {
				return
			}
			ids <- o.ID
			// orders' own order.placed delivery runs beside the other placements too.
			assert.NoError(t, f.svc.OnPlaced(context.Background(), o.ID+"/order.placed", events.OrderPlacedData{
				OrderID: o.ID, CustomerID: o.CustomerID, Email: o.Email, Items: o.Items, Payment: o.Payment, PlacedAt: o.CreatedAt,
			}))
		})
	}
	wg.Wait()
	close(ids)
	want := map[string]bool{}
	for id := range ids {
		want[id] = true
	}
	require.Len(t, want, n)

	f.now = f.now.Add(testSLA)
	rep := f.overdue(t)
	assert.Equal(t, n, rep.Overdue, "every placed order is in the index")
	got := map[string]bool{}
	for _, d := range rep.Orders {
		got[d.Order.ID] = true
	}
	assert.Equal(t, want, got)
	assert.Len(t, f.open.Keys(), order.OpenShards, "the orders are spread over every shard")
}

func TestListOverdueRejectsABadLimit(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{-1, 0, order.MaxListedOrders + 1} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			_, err := newFixture(t).svc.ListOverdue(context.Background(), limit)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "limit")
		})
	}
}
