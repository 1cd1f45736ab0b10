package order

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/settle"
)

// apply runs change on the order under optimistic concurrency and publishes what emit derives from the
// result. An event already applied is not applied again, but emit still runs: if the process died between
// storing and publishing, the redelivery publishes the same deterministic events again.
func (s *Service) apply(ctx context.Context, orderID, eventID string, change func(o *Order) bool, emit func(o Order) []events.Event) error {
	o, err := kv.Decide(ctx, settling{s.orders}, orderKey(orderID), func(o *Order, exists bool) (Order, bool, error) {
		if !exists {
			return Order{}, false, notYetKnown(orderID)
		}
		if slices.Contains(o.Applied, eventID) {
			return *o, false, nil
		}
		changed := change(o)
		o.Applied = append(o.Applied, eventID)
		if changed {
			o.UpdatedAt = s.now().UTC()
		}
		return *o, true, nil
	})
	if err != nil {
		return fmt.Errorf("updating order %s: %w", orderID, err)
	}
	// Also on a duplicate: the first delivery may have died before taking the order out.
	if o.Status.Terminal() {
		s.markClosed(ctx, orderID)
	}
	if emit == nil {
		return nil
	}
	if evs := emit(o); len(evs) > 0 {
		return s.pub.Publish(ctx, evs...)
	}
	return nil
}

// settling is the order store as apply reads it. order.placed is published before the order is stored, so an
// event about the order can arrive first: Get waits briefly for the record (settle.Read) before it reports it
// missing, which keeps that common race from costing the sidecar's retry backoff.
type settling struct{ Store }

func (s settling) Get(ctx context.Context, key string) (Order, string, error) {
	return settle.Read(ctx, func(ctx context.Context) (Order, string, error) { return s.Store.Get(ctx, key) },
		func(err error) bool { return errors.Is(err, kv.ErrNotFound) })
}

// OnPlaced stores the order from its own order.placed event if the API request that published it died before
// storing it, and makes sure the customer index and, while it is open, the index of open orders list it.
func (s *Service) OnPlaced(ctx context.Context, _ string, d events.OrderPlacedData) error {
	o := Order{
		ID: d.OrderID, CustomerID: d.CustomerID, Email: d.Email, Items: d.Items, Payment: d.Payment,
		Status: Pending, History: []Change{{Status: Pending, At: d.PlacedAt.UTC()}},
		CreatedAt: d.PlacedAt.UTC(), UpdatedAt: d.PlacedAt.UTC(),
	}
	// Normally the API stored it already: look before creating, so the common case is not a write collision.
	o, created, err := kv.GetOrCreate(ctx, s.orders, orderKey(o.ID), o)
	if err != nil {
		return fmt.Errorf("storing order %s from its event: %w", d.OrderID, err)
	}
	if created {
		// Usual under load (the event overtook the API's own write), essential after a crash in between.
		logging.From(ctx).Debug("stored the order from its order.placed event")
	}
	// A redelivery or an SLA re-drive can come after the order finished; it must not list it as open again.
	// (A finish racing this check leaves a terminal order in the index, which the sweep drops.)
	if !o.Status.Terminal() {
		if err := s.markOpen(ctx, o.ID); err != nil {
			return err
		}
	}
	return s.index(ctx, d.CustomerID, d.OrderID)
}

// OnCancelRequested records the customer's request in the order.
func (s *Service) OnCancelRequested(ctx context.Context, eventID string, d events.OrderCancelRequestedData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		if o.CancelRequestedAt != nil {
			return false
		}
		at := d.RequestedAt.UTC()
		o.CancelRequestedAt = &at
		return true
	}, nil)
}

// OnStockReserved prices the order and moves it to RESERVED.
func (s *Service) OnStockReserved(ctx context.Context, eventID string, d events.StockReservedData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		total := d.TotalCents
		o.Lines, o.TotalCents, o.Currency = d.Lines, &total, d.Currency
		o.transition(Reserved, d.ReservedAt, "")
		return true
	}, nil)
}

// OnStockRejected moves the order to REJECTED.
func (s *Service) OnStockRejected(ctx context.Context, eventID string, d events.StockRejectedData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		return o.transition(Rejected, d.RejectedAt, d.Reason)
	}, nil)
}

// OnStockReleased notes that the order's stock went back on the shelf.
func (s *Service) OnStockReleased(ctx context.Context, eventID string, d events.StockReleasedData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		at := d.ReleasedAt.UTC()
		o.StockReleasedAt = &at
		return true
	}, nil)
}

// OnPaymentSucceeded moves the order to PAID.
func (s *Service) OnPaymentSucceeded(ctx context.Context, eventID string, d events.PaymentSucceededData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		o.PaymentID = d.PaymentID
		o.transition(Paid, d.PaidAt, "")
		return true
	}, nil)
}

// OnPaymentFailed moves the order to PAYMENT_FAILED.
func (s *Service) OnPaymentFailed(ctx context.Context, eventID string, d events.PaymentFailedData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		return o.transition(PaymentFailed, d.FailedAt, d.Reason)
	}, nil)
}

// OnPaymentRefunded notes the refund.
func (s *Service) OnPaymentRefunded(ctx context.Context, eventID string, d events.PaymentRefundedData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		at := d.RefundedAt.UTC()
		o.RefundedAt = &at
		return true
	}, nil)
}

// OnShipmentDispatched moves the order to SHIPPED.
func (s *Service) OnShipmentDispatched(ctx context.Context, eventID string, d events.ShipmentDispatchedData) error {
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		o.Shipment = &Shipment{ID: d.ShipmentID, Carrier: d.Carrier, TrackingNumber: d.TrackingNumber, DispatchedAt: d.DispatchedAt.UTC()}
		if !o.transition(Shipped, d.DispatchedAt, "") && o.Status != Shipped {
			logging.From(ctx).Errorf("shipment dispatched for an order that is %s; shipping must not dispatch stopped orders", o.Status)
		}
		return true
	}, nil)
}

// OnShipmentCancelled finalises a stop that shipping guaranteed: CANCELLED for a customer request, EXPIRED
// for an unpaid reservation. It then publishes order.cancelled so inventory releases and payments refunds.
// An order that already failed (REJECTED, PAYMENT_FAILED) keeps its status; its compensation already ran.
func (s *Service) OnShipmentCancelled(ctx context.Context, eventID string, d events.ShipmentCancelledData) error {
	status := Cancelled
	if d.Reason == events.ReasonReservationExpired {
		status = Expired
	}
	return s.apply(ctx, d.OrderID, eventID, func(o *Order) bool {
		return o.transition(status, d.CancelledAt, d.Reason)
	}, func(o Order) []events.Event {
		if ev, ok := o.stoppedEvent(); ok {
			return []events.Event{ev}
		}
		return nil
	})
}
