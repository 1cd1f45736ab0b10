package stock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/inventory/stock"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
)

// ------------------------------------------------------------------------------------------------ hooks

// deliveryKey names the handler call a context belongs to, so hooks can stop or fail that one call.
type deliveryKey struct{}

// as is the context of the handler call named name.
func as(name string) context.Context {
	return context.WithValue(context.Background(), deliveryKey{}, name)
}

// Points where hooks act, named "<call>/<point>".
const (
	readStock  = "read-stock"  // right after a bulk read of products returned
	writeStock = "write-stock" // right before a product transaction
	record     = "record"      // right before a reservation is created
	readOrders = "read-orders" // right after a bulk read of reservations returned
)

var errCrash = errors.New("the process died here")

// hooks stop or fail one named call at one point of its store calls, to force an interleaving or a crash.
type hooks struct {
	mu    sync.Mutex
	stops map[string]*stop
	fails map[string]error
}

func newHooks() *hooks { return &hooks{stops: map[string]*stop{}, fails: map[string]error{}} }

// stop holds a call at a point the first time it gets there, until resumed.
type stop struct {
	once    sync.Once
	reached chan struct{}
	resume  chan struct{}
}

// stopAt arms a stop at "<call>/<point>".
func (h *hooks) stopAt(at string) *stop {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &stop{reached: make(chan struct{}), resume: make(chan struct{})}
	h.stops[at] = s
	return s
}

// failAt makes every store call of the named call at that point fail, as if the process died there.
func (h *hooks) failAt(at string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fails[at] = errCrash
}

func (h *hooks) at(ctx context.Context, point string) error {
	name, _ := ctx.Value(deliveryKey{}).(string)
	h.mu.Lock()
	s, err := h.stops[name+"/"+point], h.fails[name+"/"+point]
	h.mu.Unlock()
	if s != nil {
		s.once.Do(func() {
			close(s.reached)
			<-s.resume
		})
	}
	return err
}

// awaitReached waits until the stopped call got there.
func (s *stop) awaitReached(t *testing.T) {
	t.Helper()
	select {
	case <-s.reached:
	case <-time.After(5 * time.Second):
		t.Fatal("the call never reached its stop")
	}
}

func (s *stop) release() { close(s.resume) }

type hookedProducts struct {
	stock.ProductStore
	h *hooks
}

func (s hookedProducts) GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[stock.Product], error) {
	found, err := s.ProductStore.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	return found, s.h.at(ctx, readStock)
}

func (s hookedProducts) Transact(ctx context.Context, writes []kv.Write[stock.Product]) error {
	if err := s.h.at(ctx, writeStock); err != nil {
		return err
	}
	return s.ProductStore.Transact(ctx, writes)
}

type hookedReservations struct {
	stock.ReservationStore
	h *hooks
}

func (s hookedReservations) Create(ctx context.Context, key string, r stock.Reservation, opts ...kv.WriteOption) error {
	if err := s.h.at(ctx, record); err != nil {
		return err
	}
	return s.ReservationStore.Create(ctx, key, r, opts...)
}

func (s hookedReservations) GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[stock.Reservation], error) {
	found, err := s.ReservationStore.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	return found, s.h.at(ctx, readOrders)
}

// run starts a handler call in the background; wait collects its result.
func run(call func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- call() }()
	return done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not finish")
		return nil
	}
}

// requireInvariants checks stock.CheckInvariants over the whole catalog and the given orders' reservations.
func (f *fixture) requireInvariants(t *testing.T, orderIDs ...string) {
	t.Helper()
	ctx := context.Background()
	products, err := f.svc.Products(ctx)
	require.NoError(t, err)
	var reservations []stock.Reservation
	for _, id := range orderIDs {
		r, err := f.svc.Reservation(ctx, id)
		if apperr.CodeOf(err) == apperr.NotFound {
			continue
		}
		require.NoError(t, err)
		reservations = append(reservations, r)
	}
	require.NoError(t, stock.CheckInvariants(products, reservations))
}

// ------------------------------------------------------------------------------------------------ tests

// Two deliveries of one order.placed run at once (an Idempotency-Key replay re-published it, or Redis
// reclaimed it from a worker still retrying). The late one read the stock while another order held the last
// unit; that order's payment failed and the first delivery reserved the unit. Whatever the late one does next
// must leave the holds in line with the recorded decision — before, it released the first one's hold, the
// reservation stayed RESERVED holding nothing, and after dispatch the shipped unit was available again.
func TestDuplicateDeliveriesNeverTakeBackTheWinnersHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// lateFirst resumes the late delivery while the first has placed its hold but not recorded it.
		lateFirst bool
		want      stock.Status
		levels    [3]int // of LAST at the end, after a dispatch if reserved
	}{
		{name: "the late delivery resumes after the reservation was recorded", want: stock.Reserved, levels: [3]int{0, 0, 1}},
		{name: "the late delivery records its rejection before the first records", lateFirst: true, want: stock.Rejected, levels: [3]int{1, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.product(t, "LAST", 899, 1)
			require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("other", "LAST", 1)))

			late := f.hooks.stopAt("late/" + readStock)
			lateDone := run(func() error { return f.svc.OnOrderPlaced(as("late"), "", placed("o", "LAST", 1)) })
			late.awaitReached(t) // it saw 0 available and no hold for o
			require.NoError(t, f.svc.OnPaymentFailed(ctx, "", events.PaymentFailedData{OrderID: "other"}))

			var (
				first     *stop
				firstDone <-chan error
			)
			if tc.lateFirst {
				first = f.hooks.stopAt("first/" + record)
				firstDone = run(func() error { return f.svc.OnOrderPlaced(as("first"), "", placed("o", "LAST", 1)) })
				first.awaitReached(t) // its hold is placed
			} else {
				require.NoError(t, f.svc.OnOrderPlaced(as("first"), "", placed("o", "LAST", 1)))
			}
			late.release()
			require.NoError(t, wait(t, lateDone))
			if first != nil {
				first.release()
				require.NoError(t, wait(t, firstDone))
			}

			assert.Equal(t, tc.want, f.status(t, "o"))
			f.requireInvariants(t, "other", "o")
			if tc.want == stock.Reserved {
				assert.Empty(t, f.pub.Of(events.StockRejected), "only the recorded decision is announced")
				require.NoError(t, f.svc.OnShipmentDispatched(ctx, "", events.ShipmentDispatchedData{OrderID: "o"}))
				f.requireInvariants(t, "other", "o")
			}
			assert.Equal(t, tc.levels, f.levels(t, "LAST"), "the shipped unit is not available again")
		})
	}
}

// A delivery of order.placed placed its holds and died before recording the decision. Before, the holds
// leaked for good when the order was then cancelled while PENDING (the CANCELLED tombstone moved no hold) or
// no delivery came back (the sweep only looked at RESERVED and EXPIRING records).
func TestHoldsWithoutADecisionAreTakenBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cancel := events.OrderCancelledData{OrderID: "o", Reason: events.ReasonCustomerRequest}
	sweep := func(t *testing.T, f *fixture) stock.SweepResult {
		t.Helper()
		res, err := f.svc.Sweep(ctx)
		require.NoError(t, err)
		return res
	}
	tests := []struct {
		name   string
		after  func(t *testing.T, f *fixture)
		want   stock.Status // "" for no record
		levels [3]int       // of MUG (5 received; the crashed delivery held 2)
	}{
		{name: "a cancellation tombstone releases them", after: func(t *testing.T, f *fixture) {
			require.NoError(t, f.svc.OnOrderCancelled(ctx, "", cancel))
			require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)), "a redelivery after the tombstone")
			assert.Empty(t, f.pub.Events(), "a cancelled order is never reserved")
		}, want: stock.Cancelled, levels: [3]int{5, 0, 0}},
		{name: "the sweep releases them once the grace period is over", after: func(t *testing.T, f *fixture) {
			f.advance(stock.DefaultOrphanGrace - time.Second)
			assert.Equal(t, stock.SweepResult{}, sweep(t, f), "within the grace period the delivery may still be running")
			f.advance(time.Second)
			assert.Equal(t, stock.SweepResult{Orphaned: 1}, sweep(t, f))
		}, levels: [3]int{5, 0, 0}},
		{name: "the sweep releases them when the tombstone's release died too", after: func(t *testing.T, f *fixture) {
			f.hooks.failAt("cancel/" + writeStock)
			require.ErrorIs(t, f.svc.OnOrderCancelled(as("cancel"), "", cancel), errCrash)
			f.advance(stock.DefaultOrphanGrace)
			assert.Equal(t, stock.SweepResult{Orphaned: 1}, sweep(t, f))
		}, want: stock.Cancelled, levels: [3]int{5, 0, 0}},
		{name: "a redelivery keeps them and the sweep then leaves them alone", after: func(t *testing.T, f *fixture) {
			f.advance(stock.DefaultOrphanGrace)
			require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)))
			assert.Equal(t, stock.SweepResult{}, sweep(t, f))
		}, want: stock.Reserved, levels: [3]int{3, 2, 0}},
		{name: "a sweep racing the redelivery that keeps them does not take them", after: func(t *testing.T, f *fixture) {
			f.advance(stock.DefaultOrphanGrace)
			stopped := f.hooks.stopAt("sweep/" + writeStock) // it found the holds stale and no record
			swept := run(func() error { _, err := f.svc.Sweep(as("sweep")); return err })
			stopped.awaitReached(t)
			require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)))
			stopped.release()
			require.NoError(t, wait(t, swept))
		}, want: stock.Reserved, levels: [3]int{3, 2, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.product(t, "MUG", 899, 5)
			f.hooks.failAt("crashing/" + record)
			require.ErrorIs(t, f.svc.OnOrderPlaced(as("crashing"), "", placed("o", "MUG", 2)), errCrash)
			require.Equal(t, [3]int{3, 2, 0}, f.levels(t, "MUG"), "the holds were placed")

			tc.after(t, f)

			r, err := f.svc.Reservation(ctx, "o")
			if tc.want == "" {
				assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.want, r.Status)
			}
			assert.Equal(t, tc.levels, f.levels(t, "MUG"))
			f.requireInvariants(t, "o")
		})
	}
}

// A dispatch recorded COMMITTED and died before moving the holds, and shipment.dispatched never came back: the
// sweep commits them, so the shipped stock is neither held nor available.
func TestSweepCommitsTheHoldsOfAShippedOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.product(t, "MUG", 899, 5)
	require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)))
	f.hooks.failAt("dispatch/" + writeStock)
	require.ErrorIs(t, f.svc.OnShipmentDispatched(as("dispatch"), "", events.ShipmentDispatchedData{OrderID: "o"}), errCrash)
	require.Equal(t, stock.Committed, f.status(t, "o"))

	f.advance(stock.DefaultOrphanGrace)
	res, err := f.svc.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, stock.SweepResult{Orphaned: 1}, res)
	assert.Equal(t, [3]int{3, 0, 2}, f.levels(t, "MUG"))
	f.requireInvariants(t, "o")
}

// Every delivery of several orders runs three times at once, on Redis-like transactions, while some orders are
// cancelled: whatever interleaving happens, the holds end in line with the recorded decisions.
func TestConcurrentDuplicateDeliveriesKeepHoldsInLineWithDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.product(t, "A", 100, 4)
	f.product(t, "B", 100, 3)
	const orders = 10
	ids := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		ids[i] = "o-" + string(rune('a'+i))
		order := placed(ids[i], "A", 1, "B", 1)
		for range 3 {
			wg.Go(func() { assert.NoError(t, f.svc.OnOrderPlaced(ctx, "", order)) })
		}
		if i%3 == 0 {
			wg.Go(func() {
				assert.NoError(t, f.svc.OnOrderCancelled(ctx, "", events.OrderCancelledData{OrderID: ids[i], Reason: events.ReasonCustomerRequest}))
			})
		}
	}
	wg.Wait()
	f.requireInvariants(t, ids...)
	for _, id := range ids {
		if f.status(t, id) == stock.Reserved {
			require.NoError(t, f.svc.OnShipmentDispatched(ctx, "", events.ShipmentDispatchedData{OrderID: id}))
		}
	}
	f.requireInvariants(t, ids...)
	a, b := f.levels(t, "A"), f.levels(t, "B")
	assert.Equal(t, 4, a[0]+a[1]+a[2])
	assert.Equal(t, 3, b[0]+b[1]+b[2])
	assert.Equal(t, a[2], b[2], "every order ships one of each, or nothing")
}

// The sweep decides from a bulk read; a reservation dispatched before the sweep writes must not be marked
// expiring nor announced as expired: the write re-checks what is stored.
func TestSweepLeavesAReservationThatMovedAfterItsRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.product(t, "MUG", 899, 5)
	require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 1)))
	f.advance(time.Hour)

	read := f.hooks.stopAt("sweep/" + readOrders)
	done := run(func() error { _, err := f.svc.Sweep(as("sweep")); return err })
	read.awaitReached(t)
	require.NoError(t, f.svc.OnShipmentDispatched(ctx, "", events.ShipmentDispatchedData{OrderID: "o"}))
	read.release()

	require.NoError(t, wait(t, done))
	assert.Equal(t, stock.Committed, f.status(t, "o"))
	assert.Empty(t, f.pub.Of(events.ReservationExpired))
	assert.Equal(t, [3]int{4, 0, 1}, f.levels(t, "MUG"))
	f.requireInvariants(t, "o")
}
