package kv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"orderflow/internal/apperr"
)

// Mutable is what Mutate needs of a store.
type Mutable[T any] interface {
	Get(ctx context.Context, key string) (T, string, error)
	Create(ctx context.Context, key string, value T, opts ...WriteOption) error
	Update(ctx context.Context, key string, value T, etag string) error
}

// ErrContended is returned (wrapped) when Mutate lost the race for a key on every attempt; the caller may
// retry later.
var ErrContended = apperr.New(apperr.Unavailable, "too many concurrent updates; retry")

// Mutate is optimistic read-modify-write: it reads key, lets change modify the value (exists reports whether
// the key was there; a missing key starts from T's zero value), and writes the result back — create-only for
// a new key, under the ETag it read otherwise — starting over whenever another writer got there first. change
// returns false to leave the stored value alone. It must be free of side effects: it may run several times.
func Mutate[T any](ctx context.Context, s Mutable[T], key string, attempts int, change func(v *T, exists bool) bool) error {
	for attempt := 0; attempt < attempts; attempt++ {
		v, etag, err := s.Get(ctx, key)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if !change(&v, exists) {
			return nil
		}
		if exists {
			err = s.Update(ctx, key, v, etag)
		} else {
			err = s.Create(ctx, key, v)
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("updating %s: %w", key, ErrContended)
}

// Transactional is what MutateMany needs of a store.
type Transactional[T any] interface {
	GetMany(ctx context.Context, keys []string) (map[string]Entry[T], error)
	Transact(ctx context.Context, writes []Write[T]) error
}

// MutateMany is optimistic read-modify-write over several existing keys. Each attempt reads keys, lets change
// compute the new values of the keys it wants to write (found holds the keys that exist, with their ETags),
// and writes them in one transaction, each under the ETag it was read at; it starts over whenever a check
// fails, and gives up with ErrContended after attempts tries. change returns no values to write nothing, or
// an error to stop (returned as is). Like Mutate's, change may run several times and must not write: it may
// read other keys, and that is the point of running it after the read — what it reads is checked against
// state no older than the values it is given.
//
// Transact is not atomic on every store (see the package doc): a failed attempt may have applied some of its
// writes. change therefore describes a target state (for example "order o holds 2 on this SKU"), not a delta,
// so that the next attempt, seeing the partial result, completes it instead of applying it twice. MutateMany
// never creates a key: change may only return keys it was given in found.
func MutateMany[T any](ctx context.Context, s Transactional[T], keys []string, attempts int,
	change func(found map[string]Entry[T]) (map[string]T, error)) error {
	for attempt := 0; attempt < attempts; attempt++ {
		found, err := s.GetMany(ctx, keys)
		if err != nil {
			return fmt.Errorf("reading %v: %w", keys, err)
		}
		values, err := change(found)
		if err != nil || len(values) == 0 {
			return err
		}
		writes := make([]Write[T], 0, len(values))
		for _, k := range slices.Sorted(maps.Keys(values)) {
			e, ok := found[k]
			if !ok {
				return fmt.Errorf("updating %s: MutateMany writes only keys it read and found", k)
			}
			writes = append(writes, Write[T]{Key: k, Value: values[k], ETag: e.ETag})
		}
		err = s.Transact(ctx, writes)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return fmt.Errorf("updating %v: %w", keys, err)
		}
	}
	return fmt.Errorf("updating %v: %w", keys, ErrContended)
}
