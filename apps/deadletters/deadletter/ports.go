package deadletter

import (
	"context"

	"orderflow/internal/kv"
)

// Records persists dead letters.
type Records interface {
	kv.Mutable[DeadLetter]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[DeadLetter], error)
}

// Indexes persists the Index.
type Indexes interface {
	kv.Mutable[Index]
}

// Republisher publishes a CloudEvent, unchanged, to a topic.
type Republisher interface {
	Republish(ctx context.Context, topic string, cloudEvent []byte) error
}
