// Package kv defines the key-value contract orderflow's services persist through: typed values, optimistic
// concurrency with ETags, and create-only writes. Domain packages declare the subset they need as their own
// port; internal/platform/daprx implements it on a Dapr state store and kvfake implements it in memory, and
// both pass the same contract suite (kvtest).
//
// The contract is deliberately what every Dapr state store the project supports can honour:
//   - Create succeeds only if the key does not exist (first-write concurrency without an ETag).
//   - Update and Delete with an ETag succeed only if the stored ETag still matches.
//   - Transact checks every ETag, but it is NOT atomic on every store: Redis has no rollback, so when one
//     write's ETag check fails the others may still be applied. Callers must make each write idempotent and
//     reconcile after ErrConflict (see apps/inventory for the pattern). Never create keys through Transact.
//
// The store owns concurrency: domain code never handles an ETag or loops on ErrConflict. It changes records
// through Mutate, Decide and MutateMany (optimistic read-modify-write, bounded by Attempts, then ErrContended)
// and records first-writer-wins decisions with CreateIfAbsent, CreateOrGet and GetOrCreate (mutate.go).
package kv

import (
	"context"
	"time"

	"orderflow/internal/apperr"
)

// ErrNotFound is returned (wrapped) by Get when the key does not exist.
var ErrNotFound = apperr.New(apperr.NotFound, "not found")

// ErrConflict is returned (wrapped) when a create-only write finds the key present or an ETag check fails.
var ErrConflict = apperr.New(apperr.Conflict, "concurrent modification")

// Entry is a stored value with the ETag it was read at.
type Entry[T any] struct {
	Key   string
	Value T
	ETag  string
}

// Write is one operation of a transaction. An empty ETag means "no concurrency check".
type Write[T any] struct {
	Key    string
	Value  T
	ETag   string
	Delete bool
}

// InKeyOrder returns the values GetMany found, in the order of keys, leaving out the keys it did not find. The
// result is never nil, so an empty one still encodes as a JSON array.
func InKeyOrder[T any](found map[string]Entry[T], keys []string) []T {
	out := make([]T, 0, len(found))
	for _, k := range keys {
		if e, ok := found[k]; ok {
			out = append(out, e.Value)
		}
	}
	return out
}

// WriteOptions tune a single write.
type WriteOptions struct {
	// TTL expires the key after this duration; zero keeps it forever.
	TTL time.Duration
}

// WriteOption sets a WriteOptions field.
type WriteOption func(*WriteOptions)

// WithTTL expires the written key after d.
func WithTTL(d time.Duration) WriteOption { return func(o *WriteOptions) { o.TTL = d } }

// ApplyOptions folds options into a WriteOptions value.
func ApplyOptions(opts []WriteOption) WriteOptions {
	var o WriteOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Store is the full key-value contract for values of type T.
type Store[T any] interface {
	Get(ctx context.Context, key string) (T, string, error)
	GetMany(ctx context.Context, keys []string) (map[string]Entry[T], error)
	Create(ctx context.Context, key string, value T, opts ...WriteOption) error
	Update(ctx context.Context, key string, value T, etag string) error
	Delete(ctx context.Context, key, etag string) error
	Transact(ctx context.Context, writes []Write[T]) error
}
