package stock

import (
	"context"

	"orderflow/internal/events"
	"orderflow/internal/kv"
)

// ProductStore persists products; Transact carries the multi-SKU hold updates.
type ProductStore interface {
	Get(ctx context.Context, key string) (Product, string, error)
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Product], error)
	Create(ctx context.Context, key string, p Product, opts ...kv.WriteOption) error
	Update(ctx context.Context, key string, p Product, etag string) error
	Transact(ctx context.Context, writes []kv.Write[Product]) error
}

// ReservationStore persists reservations.
type ReservationStore interface {
	Get(ctx context.Context, key string) (Reservation, string, error)
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Reservation], error)
	Create(ctx context.Context, key string, r Reservation, opts ...kv.WriteOption) error
	Update(ctx context.Context, key string, r Reservation, etag string) error
}

// CatalogStore persists the catalog index.
type CatalogStore interface {
	Get(ctx context.Context, key string) (Catalog, string, error)
	Create(ctx context.Context, key string, c Catalog, opts ...kv.WriteOption) error
	Update(ctx context.Context, key string, c Catalog, etag string) error
}

// Publisher publishes events to the broker.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}
