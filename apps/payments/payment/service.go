// Package payment is the payments service's domain: one charge per order through a card provider, refunds
// when an order is stopped after it was charged, and the ledger record that serialises the two.
//
// The ledger record is the decision point. Charging and voiding (an order cancelled before it was charged)
// both create it create-only, so whichever comes first wins. Charging records its intent (CHARGING) before it
// calls the provider, so a cancellation, a redelivery or a restarted process always knows that money may have
// been taken, even when the process died before it learned the answer.
//
// An unknown outcome is not a failure. The provider is called with the order id as idempotency key; when the
// call fails (a timeout, a 5xx, a 429, a dropped connection) the card may have been charged, so the service asks
// the provider what it decided under that key. Only a decline, or the provider's word that it holds no charge
// under the key, fails the payment. While nobody can tell, the record stays CHARGING and the event is
// redelivered; a charge that turns up after the order was stopped is refunded.
//
// Every change of the record goes through kv.Decide, which re-runs a decision that lost a race. A decision
// therefore only names the step to take (ask the provider, refund, announce); the step runs once, after the
// record is settled. The provider is reached through the CardProvider port, which apps/payments/cardprovider
// implements.
package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/failpoint"
	"orderflow/internal/platform/logging"
)

// Service implements the payments use cases.
type Service struct {
	store    Store
	provider CardProvider
	pub      Publisher
	now      func() time.Time
}

// NewService wires the use cases to their ports.
func NewService(store Store, provider CardProvider, pub Publisher, now func() time.Time) *Service {
	return &Service{store: store, provider: provider, pub: pub, now: now}
}

func key(orderID string) string       { return "payment/" + orderID }
func chargeKey(orderID string) string { return orderID }
func refundKey(orderID string) string { return "refund-" + orderID }

// step is what a handler does once the ledger record is settled — call the provider, publish. kv.Decide may
// take a decision several times, so the decision only names the step, and the step runs once, afterwards.
type step func() error

func done() error { return nil }

// Get returns the ledger record of an order.
func (s *Service) Get(ctx context.Context, orderID string) (Payment, error) {
	p, _, err := s.store.Get(ctx, key(orderID))
	if errors.Is(err, kv.ErrNotFound) {
		return Payment{}, apperr.New(apperr.NotFound, "no payment for order %s", orderID)
	}
	return p, err
}

// ask sends charge (when not nil) and, when its outcome is unknown or there was nothing to send, looks up what
// the provider decided under the order's idempotency key (chargeKey). An error means nobody can tell yet: the
// caller answers RETRY and the record stays as it is.
func (s *Service) ask(ctx context.Context, orderID string, charge *ChargeRequest) (outcome, error) {
	if charge != nil {
		res, err := s.provider.Charge(ctx, *charge)
		failpoint.Inject(ctx, "payments.after-charge")
		if err == nil {
			return decided(res), nil
		}
		logging.From(ctx).WithError(err).Warn("charge outcome unknown; asking the card provider what it decided")
	}
	res, err := s.provider.FindCharge(ctx, chargeKey(orderID))
	switch {
	case err == nil:
		return decided(res), nil
	case errors.Is(err, ErrNoSuchCharge):
		return outcome{verdict: nothingCharged}, nil
	case errors.Is(err, ErrOutcomeUnknown):
		return outcome{}, apperr.Wrap(apperr.Unavailable, err, "payment of order %s: the card provider has not decided yet", orderID)
	}
	return outcome{}, apperr.Wrap(apperr.Unavailable, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err),
		"payment of order %s: cannot tell whether the card was charged", orderID)
}

// settle records the provider's verdict on the order's record and announces it. It re-reads the record, so a
// cancellation that arrived meanwhile turns an approved charge into a refund. A record already final is only
// re-announced (a concurrent delivery settled it) — unless it says no money was kept (VOIDED, or FAILED by a
// duplicate delivery whose lookup ran before this charge landed) and the card was charged: then the charge is
// refunded.
func (s *Service) settle(ctx context.Context, orderID string, out outcome, amountCents int64, currency string) error {
	then, err := kv.Decide(ctx, s.store, key(orderID), func(p *Payment, exists bool) (step, bool, error) {
		switch {
		case !exists:
			return nil, false, fmt.Errorf("reading payment of order %s: %w", orderID, kv.ErrNotFound)
		case p.Status == Charging && out.verdict == approved && p.CancelReason != "":
			charged := *p
			charged.PaymentID = out.charge.ChargeID
			return func() error { return s.refund(ctx, charged) }, false, nil
		case p.Status == Charging:
			*p = resolve(*p, out, s.now().UTC())
			next := *p
			return func() error {
				if next.Status == Failed && out.verdict == nothingCharged {
					logging.From(ctx).WithField("orderId", orderID).Warn("the card provider failed and holds no charge; failing the payment")
				}
				return s.announce(ctx, next)
			}, true, nil
		case (p.Status == Voided || p.Status == Failed) && out.verdict == approved:
			charged := *p
			charged.AmountCents, charged.Currency, charged.PaymentID = amountCents, currency, out.charge.ChargeID
			return func() error { return s.refund(ctx, charged) }, false, nil
		case p.Status == Voided:
			return done, false, nil
		}
		settled := *p
		return func() error { return s.announce(ctx, settled) }, false, nil
	})
	if err != nil {
		return fmt.Errorf("recording the payment outcome of order %s: %w", orderID, err)
	}
	return then()
}

// refund gives a charge back (idempotently at the provider), records it, and announces it.
func (s *Service) refund(ctx context.Context, p Payment) error {
	if p.Status != Refunded {
		refundID, err := s.provider.Refund(ctx, RefundRequest{IdempotencyKey: refundKey(p.OrderID), ChargeID: p.PaymentID, AmountCents: p.AmountCents})
		if err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "refunding order %s", p.OrderID)
		}
		if p, err = s.markRefunded(ctx, refundID, p); err != nil {
			return err
		}
	}
	return s.announce(ctx, p)
}

// markRefunded records the refund of charged on whatever state the record is in now, and returns the record.
func (s *Service) markRefunded(ctx context.Context, refundID string, charged Payment) (Payment, error) {
	p, err := kv.Decide(ctx, s.store, key(charged.OrderID), func(p *Payment, exists bool) (Payment, bool, error) {
		switch {
		case !exists:
			return Payment{}, false, fmt.Errorf("reading payment of order %s: %w", charged.OrderID, kv.ErrNotFound)
		case p.Status == Refunded:
			return *p, false, nil
		}
		p.Status, p.RefundID, p.UpdatedAt = Refunded, refundID, s.now().UTC()
		p.AmountCents, p.Currency, p.PaymentID = charged.AmountCents, charged.Currency, charged.PaymentID
		return *p, true, nil
	})
	if err != nil {
		return Payment{}, fmt.Errorf("recording the refund of order %s: %w", charged.OrderID, err)
	}
	return p, nil
}

// announce publishes what the ledger record implies; redeliveries repeat it with the same event ids.
func (s *Service) announce(ctx context.Context, p Payment) error {
	switch p.Status {
	case Charged:
		return s.pub.Publish(ctx, events.New(events.PaymentSucceeded, p.OrderID, p.CreatedAt, events.PaymentSucceededData{
			OrderID: p.OrderID, CustomerID: p.CustomerID, PaymentID: p.PaymentID, AmountCents: p.AmountCents,
			Currency: p.Currency, PaidAt: p.CreatedAt,
		}))
	case Failed:
		return s.pub.Publish(ctx, events.New(events.PaymentFailed, p.OrderID, p.CreatedAt, events.PaymentFailedData{
			OrderID: p.OrderID, Code: p.FailureCode, Reason: p.FailureReason, FailedAt: p.CreatedAt,
		}))
	case Refunded:
		return s.pub.Publish(ctx, events.New(events.PaymentRefunded, p.OrderID, p.UpdatedAt, events.PaymentRefundedData{
			OrderID: p.OrderID, PaymentID: p.PaymentID, AmountCents: p.AmountCents, Currency: p.Currency, RefundedAt: p.UpdatedAt,
		}))
	}
	return nil
}
