package stock

import (
	"context"

	"orderflow/internal/events"
	"orderflow/internal/kv"
)

// ProductStore persists products; Transact carries the multi-SKU hold updates.
type ProductStore interface {
	kv.Mutable[Product]
	kv.Transactional[Product]
}

// ReservationStore persists reservations.
type ReservationStore interface {
	kv.Mutable[Reservation]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Reservation], error)
}

// CatalogStore persists the catalog index.
type CatalogStore interface {
	kv.Mutable[Catalog]
}

// Publisher publishes events to the broker.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}
