package kv

import (
	"context"
	"errors"
	"fmt"

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
