package payment

import (
	"context"
	"errors"

	"orderflow/internal/events"
	"orderflow/internal/kv"
)

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
