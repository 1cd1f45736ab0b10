package stock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"orderflow/apps/inventory/stock"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
)

// BenchmarkReserveAndCommit measures inventory's work per shipped order: reserving two SKUs (holds in one
// transaction, the reservation record, the announcement) and committing them on dispatch.
func BenchmarkReserveAndCommit(b *testing.B) {
	ctx := context.Background()
	svc := stock.NewService(kvfake.NewNonAtomic[stock.Product](), kvfake.New[stock.Reservation](), kvfake.New[stock.Catalog](),
		&eventstest.Publisher{}, 15*time.Minute, stock.DefaultOrphanGrace, time.Now)
	for _, sku := range []string{"A", "B"} {
		if _, _, err := svc.PutProduct(ctx, sku, stock.ProductInput{Name: sku, PriceCents: 100, Available: 10_000_000}); err != nil {
			b.Fatal(err)
		}
	}
	// The largest stock a product may hold lasts five million iterations: far more than a run makes.
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("o-%d", i)
		if err := svc.OnOrderPlaced(ctx, "", placed(id, "A", 1, "B", 2)); err != nil {
			b.Fatal(err)
		}
		if err := svc.OnShipmentDispatched(ctx, "", events.ShipmentDispatchedData{OrderID: id}); err != nil {
			b.Fatal(err)
		}
	}
}
