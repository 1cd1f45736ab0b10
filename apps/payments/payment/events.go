package payment

import (
	"context"
	"fmt"

	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/failpoint"
)

// OnStockReserved charges the reserved total, once.
func (s *Service) OnStockReserved(ctx context.Context, _ string, d events.StockReservedData) error {
	failpoint.Inject(ctx, "payments.before-charge")
	p, err := s.recordIntent(ctx, d)
	if err != nil {
		return err
	}
	var charge *ChargeRequest
	switch {
	case p.Status == Charging && p.CancelReason == "":
		// A fresh intent, or one whose outcome a crash or an unknown answer left open: sending the same
		// idempotent charge again either charges now or replays what the provider decided before.
		charge = &ChargeRequest{
			IdempotencyKey: chargeKey(d.OrderID), AmountCents: d.TotalCents, Currency: d.Currency,
			CardToken: d.Payment.CardToken, Description: "orderflow order " + d.OrderID,
		}
	case p.Status == Charging, p.Status == Voided:
		// The order was stopped: never charge now, only find out whether an earlier attempt did (a VOIDED
		// record may hide one made by a process that died before recording anything).
	default:
		return s.announce(ctx, p)
	}
	out, err := s.ask(ctx, d.OrderID, charge)
	if err != nil {
		return err
	}
	return s.settle(ctx, d.OrderID, out, d.TotalCents, d.Currency)
}

// recordIntent returns the order's ledger record, creating it CHARGING (create-only) if there is none, so the
// intent to charge is durable before the provider is called.
func (s *Service) recordIntent(ctx context.Context, d events.StockReservedData) (Payment, error) {
	now := s.now().UTC()
	p, _, err := kv.GetOrCreate(ctx, s.store, key(d.OrderID), Payment{
		OrderID: d.OrderID, CustomerID: d.CustomerID, Status: Charging, AmountCents: d.TotalCents,
		Currency: d.Currency, IdempotencyKey: chargeKey(d.OrderID), CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return Payment{}, fmt.Errorf("recording the intent to charge order %s: %w", d.OrderID, err)
	}
	return p, nil
}

// OnOrderCancelled refunds a charged order, or voids it so that it is never charged. A charge whose outcome
// is unknown is marked cancelled first, so whichever delivery learns the outcome refunds it rather than keeps
// it.
func (s *Service) OnOrderCancelled(ctx context.Context, _ string, d events.OrderCancelledData) error {
	then, err := kv.Decide(ctx, s.store, key(d.OrderID), func(p *Payment, exists bool) (step, bool, error) {
		switch {
		case !exists:
			now := s.now().UTC()
			*p = Payment{OrderID: d.OrderID, Status: Voided, FailureReason: "order stopped before payment: " + d.Reason, CreatedAt: now, UpdatedAt: now}
			return done, true, nil
		case p.Status == Charged || p.Status == Refunded:
			charged := *p
			return func() error { return s.refund(ctx, charged) }, false, nil
		case p.Status == Charging:
			mark := p.CancelReason == ""
			if mark {
				p.CancelReason, p.UpdatedAt = d.Reason, s.now().UTC()
			}
			amountCents, currency := p.AmountCents, p.Currency
			return func() error {
				out, err := s.ask(ctx, d.OrderID, nil)
				if err != nil {
					return err
				}
				return s.settle(ctx, d.OrderID, out, amountCents, currency)
			}, mark, nil
		}
		return done, false, nil // failed or already voided: nothing was taken
	})
	if err != nil {
		return fmt.Errorf("recording the cancellation of payment %s: %w", d.OrderID, err)
	}
	return then()
}
