package shipment

import (
	"context"
	"fmt"
	"strings"

	"orderflow/internal/events"
	"orderflow/internal/platform/failpoint"
)

// OnPaymentSucceeded dispatches the order unless it was stopped first.
func (s *Service) OnPaymentSucceeded(ctx context.Context, _ string, d events.PaymentSucceededData) error {
	failpoint.Inject(ctx, "shipping.before-dispatch")
	id := deterministicID(d.OrderID)
	sh, err := s.decide(ctx, Shipment{
		OrderID: d.OrderID, Status: Dispatched, ShipmentID: "shp_" + id[:16], Carrier: s.carrier,
		TrackingNumber: "OF" + strings.ToUpper(id[16:28]), At: s.now().UTC(),
	})
	if err != nil {
		return err
	}
	if sh.Status == Dispatched {
		// Written after the decision: a crash in between re-writes the same label on redelivery.
		if err := s.labels.Put(ctx, Label{ShipmentID: sh.ShipmentID, OrderID: sh.OrderID, CustomerID: d.CustomerID,
			Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, CreatedAt: sh.At}); err != nil {
			return fmt.Errorf("writing the label of %s: %w", d.OrderID, err)
		}
	}
	return s.announce(ctx, sh)
}

// OnCancelRequested stops the order if it has not been dispatched.
func (s *Service) OnCancelRequested(ctx context.Context, _ string, d events.OrderCancelRequestedData) error {
	return s.stop(ctx, d.OrderID, events.ReasonCustomerRequest)
}

// OnReservationExpired stops an order whose reservation was not paid in time, if it has not been dispatched.
func (s *Service) OnReservationExpired(ctx context.Context, _ string, d events.ReservationExpiredData) error {
	return s.stop(ctx, d.OrderID, events.ReasonReservationExpired)
}
