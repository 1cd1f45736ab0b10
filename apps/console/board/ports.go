package board

import (
	"context"

	"orderflow/internal/kv"
)

// OrderStore persists the console's order records (satisfied by daprx.Store[Order] and kvfake).
type OrderStore interface {
	kv.Mutable[Order]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Order], error)
	Delete(ctx context.Context, key, etag string) error
}

// IndexStore persists the shards of the board's index (Shard).
type IndexStore interface {
	kv.Mutable[Shard]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Shard], error)
}
