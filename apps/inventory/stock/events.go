package stock

import (
	"context"
	"fmt"

	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/failpoint"
	"orderflow/internal/platform/logging"
)

// OnOrderPlaced reserves the order's stock, or rejects it, exactly once however often the event arrives and
// however many deliveries of it run at once. A delivery that finds the order decided finishes what the one that
// decided may have left undone (it may have died between recording and moving the holds) and re-announces.
func (s *Service) OnOrderPlaced(ctx context.Context, _ string, d events.OrderPlacedData) error {
	failpoint.Inject(ctx, "inventory.before-reserve")
	r, err := s.reserve(ctx, d)
	if err != nil {
		return err
	}
	return s.announce(ctx, r)
}

// OnOrderCancelled releases the order's stock (cancelled or expired, and shipping confirmed nothing ships).
// If inventory has not recorded a decision for the order yet, it records a tombstone so the order is never
// reserved, and releases whatever a delivery of order.placed held for it before dying short of recording.
func (s *Service) OnOrderCancelled(ctx context.Context, _ string, d events.OrderCancelledData) error {
	tomb := Reservation{OrderID: d.OrderID, Status: Cancelled, Reason: d.Reason, UpdatedAt: s.now().UTC()}
	r, _, err := kv.GetOrCreate(ctx, s.reservations, reservationKey(d.OrderID), tomb)
	if err != nil {
		return fmt.Errorf("recording the cancellation of %s: %w", d.OrderID, err)
	}
	if r.Status == Cancelled {
		// The tombstone's holds are found by scanning: the cancellation does not carry the order's lines.
		// A redelivery scans again, which finishes a release a crash interrupted.
		return s.releaseStrayHolds(ctx, d.OrderID)
	}
	return s.release(ctx, d.OrderID, d.Reason, d.CancelledAt)
}

// OnPaymentFailed releases the order's stock.
func (s *Service) OnPaymentFailed(ctx context.Context, _ string, d events.PaymentFailedData) error {
	return s.release(ctx, d.OrderID, events.ReasonPaymentFailed, d.FailedAt)
}

// OnShipmentDispatched commits the held stock: it has left the warehouse.
func (s *Service) OnShipmentDispatched(ctx context.Context, _ string, d events.ShipmentDispatchedData) error {
	r, err := s.transition(ctx, d.OrderID, Committed, "", Reserved, Expiring)
	if err != nil {
		return err
	}
	if r.Status != Committed {
		logging.From(ctx).Errorf("dispatch of order %s whose reservation is %s; shipping must not dispatch stopped orders", d.OrderID, r.Status)
		return nil
	}
	return s.moveHolds(ctx, d.OrderID, r.skus(), commit)
}
