package notify

import (
	"context"

	"orderflow/internal/kv"
)

// LedgerStore persists ledgers with optimistic concurrency.
type LedgerStore interface {
	kv.Mutable[Ledger]
}

// Mailer delivers e-mail (the email output binding).
type Mailer interface {
	Send(ctx context.Context, e Email) error
}
