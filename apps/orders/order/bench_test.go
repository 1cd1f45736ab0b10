package order_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"orderflow/apps/orders/order"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
)

// BenchmarkPlace measures the domain work of placing an order (validation, fingerprint, event), with the
// stores and broker as in-memory fakes: what the app itself spends per POST /v1/orders.
func BenchmarkPlace(b *testing.B) {
	var n atomic.Int64
	svc := order.NewService(kvfake.New[order.Order](), kvfake.New[order.Claim](), kvfake.New[order.CustomerIndex](),
		kvfake.New[order.OpenShard](), &eventstest.Publisher{}, 2*time.Minute, time.Now, func() string { return fmt.Sprintf("o-%d", n.Add(1)) })
	cmd := validCommand()
	cmd.Items = append(cmd.Items, events.Item{SKU: "SKU-2", Quantity: 1})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.Place(context.Background(), cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyEvent measures applying one saga event to an order (read, dedupe, transition, write).
// An order sees about ten events in a saga, so each order takes ten before a fresh one replaces it; one
// order taking every event would grow its applied-id list without bound and measure that instead.
func BenchmarkApplyEvent(b *testing.B) {
	const eventsPerOrder = 10
	var n atomic.Int64
	svc := order.NewService(kvfake.New[order.Order](), kvfake.New[order.Claim](), kvfake.New[order.CustomerIndex](),
		kvfake.New[order.OpenShard](), &eventstest.Publisher{}, 2*time.Minute, time.Now, func() string { return fmt.Sprintf("o-%d", n.Add(1)) })
	var current order.Order
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%eventsPerOrder == 0 {
			b.StopTimer()
			o, _, err := svc.Place(context.Background(), validCommand())
			if err != nil {
				b.Fatal(err)
			}
			current = o
			b.StartTimer()
		}
		i++
		// A distinct event id each time, so every iteration really applies.
		if err := svc.OnStockReleased(context.Background(), fmt.Sprintf("%s/e%d", current.ID, i),
			events.StockReleasedData{OrderID: current.ID, ReleasedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
}
