package shipment

import (
	"context"

	"orderflow/internal/events"
	"orderflow/internal/kv"
)

// Store persists shipment records.
type Store interface {
	kv.Creatable[Shipment]
}

// Labels stores shipping labels (the shipping-labels output binding).
type Labels interface {
	Put(ctx context.Context, l Label) error
}

// Publisher publishes events to the broker.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}
