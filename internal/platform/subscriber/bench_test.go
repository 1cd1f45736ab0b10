package subscriber_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
)

// BenchmarkDelivery measures the app's overhead per pub/sub delivery: gin routing, CloudEvent parsing, strict
// payload decoding and validation, logging context and the verdict — everything but the domain handler.
func BenchmarkDelivery(b *testing.B) {
	e := engine()
	r := subscriber.NewRouter(e, "", "")
	r.On(events.StockReserved, subscriber.Typed(func(context.Context, string, events.StockReservedData) error { return nil }))
	body := cloudEvent(b, events.StockReserved, events.StockReservedData{OrderID: "o-1", CustomerID: "c-1", TotalCents: 1998,
		Currency: "USD", Lines: []events.PricedLine{{SKU: "A", Name: "A", Quantity: 2, UnitPriceCents: 999, LineTotalCents: 1998}},
		Payment: events.PaymentMethod{CardToken: "tok_visa"}})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/events/stock.reserved", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
