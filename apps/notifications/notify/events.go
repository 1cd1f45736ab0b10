package notify

import (
	"context"
	"fmt"

	"orderflow/internal/events"
)

// OnPlaced remembers the recipient, confirms the order, and sends the e-mails that were waiting for the
// recipient.
func (s *Service) OnPlaced(ctx context.Context, _ string, d events.OrderPlacedData) error {
	return s.handle(ctx, d.OrderID, events.OrderPlaced, &Recipient{CustomerID: d.CustomerID, Email: d.Email},
		"We received your order "+d.OrderID,
		fmt.Sprintf("Hello %s,\n\nthank you for your order %s (%d item lines). We will write again when it ships.\n",
			d.CustomerID, d.OrderID, len(d.Items)))
}

// OnRejected tells the customer the order could not be reserved.
func (s *Service) OnRejected(ctx context.Context, _ string, d events.StockRejectedData) error {
	return s.handle(ctx, d.OrderID, events.StockRejected, nil,
		"We could not accept your order "+d.OrderID,
		fmt.Sprintf("Sorry, we could not reserve your order %s: %s.\nYou have not been charged.\n", d.OrderID, d.Reason))
}

// OnPaymentFailed tells the customer the payment did not go through.
func (s *Service) OnPaymentFailed(ctx context.Context, _ string, d events.PaymentFailedData) error {
	return s.handle(ctx, d.OrderID, events.PaymentFailed, nil,
		"Payment for your order "+d.OrderID+" failed",
		fmt.Sprintf("The payment for your order %s failed: %s.\nThe items are no longer reserved for you.\n", d.OrderID, d.Reason))
}

// OnDispatched tells the customer the parcel is on its way.
func (s *Service) OnDispatched(ctx context.Context, _ string, d events.ShipmentDispatchedData) error {
	return s.handle(ctx, d.OrderID, events.ShipmentDispatched, nil,
		"Your order "+d.OrderID+" has shipped",
		fmt.Sprintf("Good news: your order %s is on its way with %s, tracking number %s.\n", d.OrderID, d.Carrier, d.TrackingNumber))
}

// OnCancelled tells the customer the order was cancelled or expired.
func (s *Service) OnCancelled(ctx context.Context, _ string, d events.OrderCancelledData) error {
	why := "as you asked"
	if d.Reason == events.ReasonReservationExpired {
		why = "because the payment did not arrive in time"
	}
	return s.handle(ctx, d.OrderID, events.OrderCancelled, nil,
		"Your order "+d.OrderID+" was cancelled",
		fmt.Sprintf("Your order %s was cancelled %s. Any payment will be refunded.\n", d.OrderID, why))
}

// OnRefunded confirms a refund.
func (s *Service) OnRefunded(ctx context.Context, _ string, d events.PaymentRefundedData) error {
	return s.handle(ctx, d.OrderID, events.PaymentRefunded, nil,
		"Refund for your order "+d.OrderID,
		fmt.Sprintf("We refunded %s for your order %s.\n", formatCents(d.AmountCents, d.Currency), d.OrderID))
}
