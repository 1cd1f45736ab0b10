package order

import (
	"time"

	"context"

	"orderflow/internal/events"
	"orderflow/internal/kv"
)

// Store persists orders with optimistic concurrency (satisfied by daprx.Store[Order] and kvfake).
type Store interface {
	kv.Mutable[Order]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Order], error)
}

// Claim binds an Idempotency-Key to the order it created and the request that created it.
type Claim struct {
	OrderID     string `json:"orderId"`
	Fingerprint string `json:"fingerprint"`
	// PlacedAt is when the first request placed the order. A retry that finishes that request announces the
	// very same order: a publish reported as failed may still have reached the broker, and the saga's next
	// events must never be older than the order they follow.
	PlacedAt time.Time `json:"placedAt,omitzero"`
}

// ClaimStore persists idempotency claims.
type ClaimStore interface {
	kv.Creatable[Claim]
}

// CustomerIndex lists a customer's order ids, newest first. The Redis state store has no query API, so
// orders keeps this index itself.
type CustomerIndex struct {
	OrderIDs []string `json:"orderIds"`
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
