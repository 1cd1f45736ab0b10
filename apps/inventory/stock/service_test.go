package stock_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/inventory/stock"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
)

type fixture struct {
	svc   *stock.Service
	pub   *eventstest.Publisher
	hooks *hooks
	mu    sync.Mutex
	now   time.Time
}

// newFixture uses Redis-like, non-atomic transactions: the reservation logic must be correct on them. Its
// stores go through hooks, which tests use to stop or fail one delivery at a chosen point.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{pub: &eventstest.Publisher{}, hooks: newHooks(), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	f.svc = stock.NewService(hookedProducts{kvfake.NewNonAtomic[stock.Product](), f.hooks},
		hookedReservations{kvfake.New[stock.Reservation](), f.hooks}, kvfake.New[stock.Catalog](),
		f.pub, 15*time.Minute, stock.DefaultOrphanGrace, f.clock)
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fixture) product(t *testing.T, sku string, price int64, available int) {
	t.Helper()
	_, _, err := f.svc.PutProduct(context.Background(), sku, stock.ProductInput{Name: sku + " name", PriceCents: price, Available: available})
	require.NoError(t, err)
}

func (f *fixture) levels(t *testing.T, sku string) [3]int {
	t.Helper()
	p, err := f.svc.Product(context.Background(), sku)
	require.NoError(t, err)
	return [3]int{p.Available, p.Reserved, p.Committed}
}

func placed(orderID string, items ...any) events.OrderPlacedData {
	d := events.OrderPlacedData{OrderID: orderID, CustomerID: "c-1", Email: "a@b.co", Payment: events.PaymentMethod{CardToken: "tok_visa"}}
	for i := 0; i+1 < len(items); i += 2 {
		d.Items = append(d.Items, events.Item{SKU: items[i].(string), Quantity: items[i+1].(int)})
	}
	return d
}

func (f *fixture) status(t *testing.T, orderID string) stock.Status {
	t.Helper()
	r, err := f.svc.Reservation(context.Background(), orderID)
	require.NoError(t, err)
	return r.Status
}

func TestReserveOrReject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		order     events.OrderPlacedData
		want      stock.Status
		event     events.Kind
		reason    string
		mugLevels [3]int
	}{
		{"every line fits", placed("o", "MUG", 2, "BEANS", 1), stock.Reserved, events.StockReserved, "", [3]int{3, 2, 0}},
		{"unknown sku", placed("o", "MUG", 1, "NOPE", 1), stock.Rejected, events.StockRejected, "NOPE is not in the catalog", [3]int{5, 0, 0}},
		{"not enough stock", placed("o", "MUG", 6), stock.Rejected, events.StockRejected, "MUG: 6 requested, 5 available", [3]int{5, 0, 0}},
		{"exactly the last units", placed("o", "MUG", 5), stock.Reserved, events.StockReserved, "", [3]int{0, 5, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.product(t, "MUG", 899, 5)
			f.product(t, "BEANS", 1999, 5)
			require.NoError(t, f.svc.OnOrderPlaced(context.Background(), "", tc.order))
			r, err := f.svc.Reservation(context.Background(), "o")
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.Status)
			assert.Contains(t, r.Reason, tc.reason)
			assert.Equal(t, tc.mugLevels, f.levels(t, "MUG"))
			evs := f.pub.Events()
			require.Len(t, evs, 1)
			assert.Equal(t, tc.event, evs[0].Kind)
			if tc.want == stock.Reserved {
				d := evs[0].Data.(events.StockReservedData)
				var total int64
				for _, l := range d.Lines {
					total += l.LineTotalCents
				}
				assert.Equal(t, total, d.TotalCents)
				assert.Equal(t, "tok_visa", d.Payment.CardToken, "the payment method is forwarded to payments")
				assert.Equal(t, f.now.Add(15*time.Minute), d.ExpiresAt)
			}
		})
	}
}

func TestRedeliveredOrderIsReservedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.product(t, "MUG", 899, 5)
	for i := 0; i < 3; i++ {
		require.NoError(t, f.svc.OnOrderPlaced(context.Background(), "", placed("o", "MUG", 2)))
	}
	assert.Equal(t, [3]int{3, 2, 0}, f.levels(t, "MUG"))
	reserved := f.pub.Of(events.StockReserved)
	require.Len(t, reserved, 3, "each delivery re-announces, in case an earlier announcement was lost")
	assert.Equal(t, reserved[0].ID, reserved[2].ID)
}

func TestConcurrentReservationsNeverOversell(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.product(t, "A", 100, 7)
	f.product(t, "B", 100, 5)
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			order := placed(fmt.Sprintf("o-%d", i), "A", 1, "B", 1)
			if i%2 == 1 {
				order = placed(fmt.Sprintf("o-%d", i), "B", 1, "A", 1)
			}
			assert.NoError(t, f.svc.OnOrderPlaced(context.Background(), "", order))
		}()
	}
	wg.Wait()
	var reserved int
	for i := 0; i < 24; i++ {
		if f.status(t, fmt.Sprintf("o-%d", i)) == stock.Reserved {
			reserved++
		}
	}
	assert.Equal(t, 5, reserved, "B runs out first; every multi-line order is all or nothing")
	assert.Equal(t, [3]int{2, 5, 0}, f.levels(t, "A"))
	assert.Equal(t, [3]int{0, 5, 0}, f.levels(t, "B"))
	for _, sku := range []string{"A", "B"} {
		p, err := f.svc.Product(context.Background(), sku)
		require.NoError(t, err)
		var held int
		for _, h := range p.Holds {
			held += h.Quantity
		}
		assert.Equal(t, p.Reserved, held, "holds account for every reserved unit of %s", sku)
	}
}

func TestReleaseAndCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		act      func(s *stock.Service) error
		want     stock.Status
		levels   [3]int
		released bool
	}{
		{"payment failed releases", func(s *stock.Service) error {
			return s.OnPaymentFailed(ctx, "", events.PaymentFailedData{OrderID: "o"})
		}, stock.Released, [3]int{5, 0, 0}, true},
		{"cancelled releases", func(s *stock.Service) error {
			return s.OnOrderCancelled(ctx, "", events.OrderCancelledData{OrderID: "o", Reason: events.ReasonCustomerRequest})
		}, stock.Released, [3]int{5, 0, 0}, true},
		{"dispatched commits", func(s *stock.Service) error {
			return s.OnShipmentDispatched(ctx, "", events.ShipmentDispatchedData{OrderID: "o"})
		}, stock.Committed, [3]int{3, 0, 2}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.product(t, "MUG", 899, 5)
			require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)))
			require.NoError(t, tc.act(f.svc))
			require.NoError(t, tc.act(f.svc), "a redelivery changes nothing")
			assert.Equal(t, tc.want, f.status(t, "o"))
			assert.Equal(t, tc.levels, f.levels(t, "MUG"))
			if tc.released {
				rel := f.pub.Of(events.StockReleased)
				require.NotEmpty(t, rel)
				assert.Equal(t, []events.Item{{SKU: "MUG", Quantity: 2}}, rel[0].Data.(events.StockReleasedData).Lines)
			}
		})
	}
}

func TestCancellationBeforeReservationLeavesATombstone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.product(t, "MUG", 899, 5)
	require.NoError(t, f.svc.OnOrderCancelled(ctx, "", events.OrderCancelledData{OrderID: "o", Reason: events.ReasonCustomerRequest}))
	require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)))
	assert.Equal(t, stock.Cancelled, f.status(t, "o"))
	assert.Equal(t, [3]int{5, 0, 0}, f.levels(t, "MUG"), "a cancelled order is never reserved")
	assert.Empty(t, f.pub.Events())
}

func TestEventsForUnknownReservationsAskForRedelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	err := f.svc.OnShipmentDispatched(context.Background(), "", events.ShipmentDispatchedData{OrderID: "nope"})
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err))
}

func TestUnpaidReservationExpiresAndReleasesOnlyOnShippingsWord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.product(t, "MUG", 899, 5)
	require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)))

	res, err := f.svc.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, stock.SweepResult{}, res, "nothing is due yet")

	f.advance(15 * time.Minute)
	res, err = f.svc.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Expired)
	assert.Equal(t, stock.Expiring, f.status(t, "o"))
	assert.Len(t, f.pub.Of(events.ReservationExpired), 1)
	assert.Equal(t, [3]int{3, 2, 0}, f.levels(t, "MUG"), "the stock stays held until shipping confirms nothing ships")

	f.advance(time.Minute)
	res, err = f.svc.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Reminded, "no answer yet: announce again")

	require.NoError(t, f.svc.OnOrderCancelled(ctx, "", events.OrderCancelledData{OrderID: "o", Reason: events.ReasonReservationExpired}))
	assert.Equal(t, stock.Released, f.status(t, "o"))
	assert.Equal(t, [3]int{5, 0, 0}, f.levels(t, "MUG"))
	f.advance(time.Hour)
	res, err = f.svc.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, stock.SweepResult{}, res, "a released reservation holds nothing, so the sweep no longer sees it")
}

func TestExpiringReservationCanStillBeDispatched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.product(t, "MUG", 899, 5)
	require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 1)))
	f.advance(time.Hour)
	_, err := f.svc.Sweep(ctx)
	require.NoError(t, err)
	require.NoError(t, f.svc.OnShipmentDispatched(ctx, "", events.ShipmentDispatchedData{OrderID: "o"}))
	assert.Equal(t, stock.Committed, f.status(t, "o"))
	assert.Equal(t, [3]int{4, 0, 1}, f.levels(t, "MUG"))
}

func TestPutProduct(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("replacing keeps reserved and committed stock", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.product(t, "MUG", 899, 5)
		require.NoError(t, f.svc.OnOrderPlaced(ctx, "", placed("o", "MUG", 2)))
		p, created, err := f.svc.PutProduct(ctx, "MUG", stock.ProductInput{Name: "Big mug", PriceCents: 999, Available: 10})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, "Big mug", p.Name)
		assert.Equal(t, [3]int{10, 2, 0}, f.levels(t, "MUG"))
		list, err := f.svc.Products(ctx)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})
	invalid := []struct {
		name  string
		sku   string
		in    stock.ProductInput
		field string
	}{
		{"bad sku", "a b", stock.ProductInput{Name: "x"}, "sku"},
		{"no name", "S", stock.ProductInput{Name: " "}, "name"},
		{"negative price", "S", stock.ProductInput{Name: "x", PriceCents: -1}, "priceCents"},
		{"negative stock", "S", stock.ProductInput{Name: "x", Available: -1}, "available"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := newFixture(t).svc.PutProduct(ctx, tc.sku, tc.in)
			e, ok := apperr.As(err)
			require.True(t, ok)
			assert.Equal(t, tc.field, e.Field)
		})
	}
}

func TestSeedOnlyFillsAnEmptyCatalog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	demo := []stock.SeedProduct{{SKU: "SKU-1", ProductInput: stock.ProductInput{Name: "One", PriceCents: 100, Available: 3}}}
	seeded, err := f.svc.Seed(ctx, demo)
	require.NoError(t, err)
	assert.True(t, seeded)
	seeded, err = f.svc.Seed(ctx, demo)
	require.NoError(t, err)
	assert.False(t, seeded)
	list, err := f.svc.Products(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, 3, list[0].Available)
}
