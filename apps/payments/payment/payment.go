// Package payment is the payments service's domain: one charge per order through a card provider, refunds
// when an order is stopped after it was charged, and the ledger record that serialises the two.
//
// The ledger record is the decision point. Charging and voiding (an order cancelled before it was charged)
// both create it create-only, so whichever comes first wins; a charge that loses to a void is refunded at once.
// The provider is called with the order id as idempotency key, so a redelivered stock.reserved never charges
// twice even if the process died between charging and recording.
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

// Status is a ledger record's state.
type Status string

// Ledger statuses.
const (
	Charged  Status = "CHARGED"
	Failed   Status = "FAILED"
	Voided   Status = "VOIDED"
	Refunded Status = "REFUNDED"
)

// Payment is the ledger record of one order.
type Payment struct {
	OrderID       string    `json:"orderId"`
	CustomerID    string    `json:"customerId,omitempty"`
	Status        Status    `json:"status"`
	AmountCents   int64     `json:"amountCents"`
	Currency      string    `json:"currency"`
	PaymentID     string    `json:"paymentId,omitempty"`
	RefundID      string    `json:"refundId,omitempty"`
	FailureCode   string    `json:"failureCode,omitempty"`
	FailureReason string    `json:"failureReason,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// ChargeRequest asks the provider for money.
type ChargeRequest struct {
	IdempotencyKey string
	AmountCents    int64
	Currency       string
	CardToken      string
	Description    string
}

// ChargeResult is the provider's answer to a charge it processed.
type ChargeResult struct {
	ChargeID    string
	Approved    bool
	DeclineCode string
	Message     string
}

// RefundRequest gives money back.
type RefundRequest struct {
	IdempotencyKey string
	ChargeID       string
	AmountCents    int64
}

// ErrProviderFailed means the provider did not process the request (it timed out or failed after the sidecar's
// resiliency retries). The charge did not happen; the order fails.
var ErrProviderFailed = errors.New("card provider failed")

// CardProvider is the payment gateway.
type CardProvider interface {
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	Refund(ctx context.Context, req RefundRequest) (refundID string, err error)
}

// Store persists ledger records.
type Store interface {
	Get(ctx context.Context, key string) (Payment, string, error)
	Create(ctx context.Context, key string, p Payment, opts ...kv.WriteOption) error
	Update(ctx context.Context, key string, p Payment, etag string) error
}

// Publisher publishes events to the broker.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}

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

const maxAttempts = 25

func key(orderID string) string       { return "payment/" + orderID }
func isNotFound(err error) bool       { return errors.Is(err, kv.ErrNotFound) }
func isConflict(err error) bool       { return errors.Is(err, kv.ErrConflict) }
func refundKey(orderID string) string { return "refund-" + orderID }

// Get returns the ledger record of an order.
func (s *Service) Get(ctx context.Context, orderID string) (Payment, error) {
	p, _, err := s.store.Get(ctx, key(orderID))
	if isNotFound(err) {
		return Payment{}, apperr.New(apperr.NotFound, "no payment for order %s", orderID)
	}
	return p, err
}

// OnStockReserved charges the reserved total, once.
func (s *Service) OnStockReserved(ctx context.Context, _ string, d events.StockReservedData) error {
	failpoint.Inject(ctx, "payments.before-charge")
	if p, _, err := s.store.Get(ctx, key(d.OrderID)); err == nil {
		return s.announce(ctx, p)
	} else if !isNotFound(err) {
		return err
	}
	now := s.now().UTC()
	p := Payment{OrderID: d.OrderID, CustomerID: d.CustomerID, AmountCents: d.TotalCents, Currency: d.Currency, CreatedAt: now, UpdatedAt: now}
	res, err := s.provider.Charge(ctx, ChargeRequest{
		IdempotencyKey: d.OrderID, AmountCents: d.TotalCents, Currency: d.Currency,
		CardToken: d.Payment.CardToken, Description: "orderflow order " + d.OrderID,
	})
	switch {
	case errors.Is(err, ErrProviderFailed):
		logging.From(ctx).WithError(err).Warn("card provider failed after retries; failing the payment")
		p.Status, p.FailureCode, p.FailureReason = Failed, events.PaymentProviderUnavailable, "the card provider did not answer in time; no money was taken"
	case err != nil:
		return fmt.Errorf("charging order %s: %w", d.OrderID, err)
	case res.Approved:
		p.Status, p.PaymentID = Charged, res.ChargeID
	default:
		p.Status, p.FailureCode, p.FailureReason = Failed, res.DeclineCode, res.Message
	}

	failpoint.Inject(ctx, "payments.after-charge")
	err = s.store.Create(ctx, key(d.OrderID), p)
	if err == nil {
		return s.announce(ctx, p)
	}
	if !isConflict(err) {
		return fmt.Errorf("recording payment of %s: %w", d.OrderID, err)
	}
	// The order was cancelled (voided) while we were charging, or a duplicate delivery recorded first.
	existing, _, err := s.store.Get(ctx, key(d.OrderID))
	if err != nil {
		return err
	}
	if existing.Status == Voided && p.Status == Charged {
		existing.AmountCents, existing.Currency, existing.PaymentID = p.AmountCents, p.Currency, p.PaymentID
		return s.refund(ctx, existing)
	}
	return s.announce(ctx, existing)
}

// OnOrderCancelled refunds a charged order, or voids it so that it is never charged.
func (s *Service) OnOrderCancelled(ctx context.Context, _ string, d events.OrderCancelledData) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		p, _, err := s.store.Get(ctx, key(d.OrderID))
		switch {
		case err == nil && (p.Status == Charged || p.Status == Refunded):
			return s.refund(ctx, p)
		case err == nil:
			return nil // failed or already voided: nothing was taken
		case !isNotFound(err):
			return err
		}
		now := s.now().UTC()
		err = s.store.Create(ctx, key(d.OrderID), Payment{OrderID: d.OrderID, Status: Voided, FailureReason: "order stopped before payment: " + d.Reason, CreatedAt: now, UpdatedAt: now})
		if err == nil || !isConflict(err) {
			return err
		}
	}
	return apperr.New(apperr.Unavailable, "too many concurrent updates of payment %s", d.OrderID)
}

// refund gives a charge back (idempotently at the provider), records it, and announces it.
func (s *Service) refund(ctx context.Context, p Payment) error {
	if p.Status != Refunded {
		refundID, err := s.provider.Refund(ctx, RefundRequest{IdempotencyKey: refundKey(p.OrderID), ChargeID: p.PaymentID, AmountCents: p.AmountCents})
		if err != nil {
			return apperr.Wrap(apperr.Unavailable, err, "refunding order %s", p.OrderID)
		}
		if err := s.markRefunded(ctx, p.OrderID, refundID, p); err != nil {
			return err
		}
		p.Status, p.RefundID = Refunded, refundID
	}
	return s.announce(ctx, p)
}

func (s *Service) markRefunded(ctx context.Context, orderID, refundID string, charged Payment) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		p, etag, err := s.store.Get(ctx, key(orderID))
		if err != nil {
			return err
		}
		if p.Status == Refunded {
			return nil
		}
		p.Status, p.RefundID, p.UpdatedAt = Refunded, refundID, s.now().UTC()
		p.AmountCents, p.Currency, p.PaymentID = charged.AmountCents, charged.Currency, charged.PaymentID
		err = s.store.Update(ctx, key(orderID), p, etag)
		if err == nil || !isConflict(err) {
			return err
		}
	}
	return apperr.New(apperr.Unavailable, "too many concurrent updates of payment %s", orderID)
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
