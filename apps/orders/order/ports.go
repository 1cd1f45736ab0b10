package order

import (
	"context"

	"orderflow/internal/events"
	"orderflow/internal/kv"
)

// Store persists orders with optimistic concurrency (satisfied by daprx.Store[Order] and kvfake).
type Store interface {
	kv.Mutable[Order]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Order], error)
}

// ClaimStore persists idempotency claims.
type ClaimStore interface {
	kv.Creatable[Claim]
}

// IndexStore persists customer indexes.
type IndexStore interface {
	kv.Mutable[CustomerIndex]
}

// OpenIndexStore persists the shards of the index of open orders (OpenShard), read by the SLA sweep.
type OpenIndexStore interface {
	kv.Mutable[OpenShard]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[OpenShard], error)
}

// Publisher publishes events to the broker.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}
