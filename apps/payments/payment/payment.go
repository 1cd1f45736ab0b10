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
	// Charging: the charge was (or is about to be) sent and its outcome is not known yet.
	Charging Status = "CHARGING"
	Charged  Status = "CHARGED"
	Failed   Status = "FAILED"
	Voided   Status = "VOIDED"
	Refunded Status = "REFUNDED"
)

// Payment is the ledger record of one order.
type Payment struct {
	OrderID     string `json:"orderId"`
	CustomerID  string `json:"customerId,omitempty"`
	Status      Status `json:"status"`
	AmountCents int64  `json:"amountCents"`
	Currency    string `json:"currency"`
	// IdempotencyKey is the key the charge was sent under; set from the moment the intent is recorded.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	PaymentID      string `json:"paymentId,omitempty"`
	RefundID       string `json:"refundId,omitempty"`
	FailureCode    string `json:"failureCode,omitempty"`
	FailureReason  string `json:"failureReason,omitempty"`
	// CancelReason is set when the order was stopped while its charge was CHARGING: whatever the charge turns
	// out to be, it is not kept (refunded if taken, voided otherwise).
	CancelReason string    `json:"cancelReason,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// ChargeRequest asks the provider for money.
type ChargeRequest struct {
	IdempotencyKey string
	AmountCents    int64
	Currency       string
	CardToken      string
	Description    string
}

// ChargeResult is what the provider decided about a charge.
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

// The provider's failures, as the CardProvider port reports them.
var (
	// ErrOutcomeUnknown: the request may or may not have taken effect (the answer was lost, or the provider
	// has not decided yet). Never a reason to fail an order.
	ErrOutcomeUnknown = errors.New("the card provider's outcome is unknown")
	// ErrProviderUnavailable: the provider could not be asked at all.
	ErrProviderUnavailable = errors.New("the card provider is unavailable")
	// ErrNoSuchCharge: the provider answered that it holds no charge under the idempotency key.
	ErrNoSuchCharge = errors.New("the card provider has no charge under that idempotency key")
)

// CardProvider is the payment gateway. Charges and refunds are idempotent under their keys.
type CardProvider interface {
	// Charge asks for money. An error means the outcome is unknown: the card may have been charged.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	// FindCharge tells what the provider decided under an idempotency key. It fails with ErrNoSuchCharge when
	// nothing was charged under the key, ErrOutcomeUnknown while the provider is still deciding, and
	// ErrProviderUnavailable when the provider could not be asked.
	FindCharge(ctx context.Context, idempotencyKey string) (ChargeResult, error)
	Refund(ctx context.Context, req RefundRequest) (refundID string, err error)
}

// Store persists ledger records.
type Store interface {
	kv.Mutable[Payment]
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

// verdict is what the provider decided under an order's idempotency key.
type verdict int

const (
	approved verdict = iota + 1
	declined
	// nothingCharged: the provider holds no charge under the key (the call failed before it charged, or none
	// was sent).
	nothingCharged
)

type outcome struct {
	verdict verdict
	charge  ChargeResult
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

func decided(res ChargeResult) outcome {
	if res.Approved {
		return outcome{verdict: approved, charge: res}
	}
	return outcome{verdict: declined, charge: res}
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

// resolve turns a CHARGING record into its final state, for any verdict but an approval of a stopped order
// (which is refunded instead).
func resolve(p Payment, out outcome, now time.Time) Payment {
	p.UpdatedAt = now
	switch {
	case out.verdict == approved:
		p.Status, p.PaymentID = Charged, out.charge.ChargeID
	case p.CancelReason != "":
		p.Status, p.FailureReason = Voided, "order stopped before payment: "+p.CancelReason
	case out.verdict == declined:
		p.Status, p.FailureCode, p.FailureReason = Failed, declineCode(out.charge.DeclineCode), orDefault(out.charge.Message, "the card was declined")
	default:
		p.Status, p.FailureCode, p.FailureReason = Failed, events.PaymentProviderUnavailable, "the card provider did not answer in time; no money was taken"
	}
	return p
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

// declineCode maps the provider's decline codes onto the ones payment.failed documents; anything unknown is a
// plain decline.
func declineCode(code string) string {
	switch code {
	case events.PaymentInsufficientFunds, events.PaymentAmountOverLimit:
		return code
	}
	return events.PaymentDeclined
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
