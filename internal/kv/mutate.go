package kv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"orderflow/internal/apperr"
)

// Attempts bounds every optimistic read-modify-write in this package: after losing the race for a key this
// many times in a row the caller gets ErrContended and is asked to come back later, instead of spinning. It is
// sized for the hottest key orderflow has — one SKU that tens of concurrent reservations hold on at once.
const Attempts = 50

// ErrContended is returned (wrapped) when a read-modify-write lost the race for a key on every attempt. Its
// code is apperr.Unavailable: an HTTP request answers 503 and an event delivery RETRY, and trying again later
// succeeds once the burst is over.
var ErrContended = apperr.New(apperr.Unavailable, "too many concurrent updates; retry")

// Creatable is what the create-only helpers need of a store.
type Creatable[T any] interface {
	Get(ctx context.Context, key string) (T, string, error)
	Create(ctx context.Context, key string, value T, opts ...WriteOption) error
}

// Mutable is what Mutate and Decide need of a store.
type Mutable[T any] interface {
	Creatable[T]
	Update(ctx context.Context, key string, value T, etag string) error
}

// Mutate is optimistic read-modify-write: it reads key, lets change modify the value (exists reports whether
// the key was there; a missing key starts from T's zero value), and writes the result back — create-only for
// a new key, under the ETag it read otherwise — starting over whenever another writer got there first. change
// returns false to leave the stored value alone. It must be free of side effects: it may run several times.
func Mutate[T any](ctx context.Context, s Mutable[T], key string, change func(v *T, exists bool) bool) error {
	_, err := Decide(ctx, s, key, func(v *T, exists bool) (struct{}, bool, error) {
		return struct{}{}, change(v, exists), nil
	})
	return err
}

// Decide is Mutate for a change that also decides what the caller does next. decide modifies the value like
// Mutate's change and returns a result, whether to write the value back, and an error that stops it (returned
// as is, nothing written). Decide returns the result of the run that settled: the one whose write succeeded,
// or that wrote nothing. decide may run several times, so it must not act — no publish, no outside call —
// only describe in its result what the caller is to do once the record is settled.
func Decide[T, R any](ctx context.Context, s Mutable[T], key string, decide func(v *T, exists bool) (R, bool, error)) (R, error) {
	var zero R
	for range Attempts {
		v, etag, err := s.Get(ctx, key)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return zero, err
		}
		res, write, err := decide(&v, exists)
		if err != nil {
			return zero, err
		}
		if !write {
			return res, nil
		}
		if exists {
			err = s.Update(ctx, key, v, etag)
		} else {
			err = s.Create(ctx, key, v)
		}
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, ErrConflict) {
			return zero, err
		}
	}
	return zero, fmt.Errorf("updating %s: %w", key, ErrContended)
}

// CreateIfAbsent writes value create-only and reports whether it did; a key already present is not an error,
// it is left as it is.
func CreateIfAbsent[T any](ctx context.Context, s Creatable[T], key string, value T, opts ...WriteOption) (bool, error) {
	err := s.Create(ctx, key, value, opts...)
	if errors.Is(err, ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// CreateOrGet records a first-writer-wins decision: it writes value create-only and, if another writer created
// the key first, returns what that writer stored instead. created reports whose value stands. It tries the
// write first, for keys that are usually new; GetOrCreate reads first, for keys that usually exist.
func CreateOrGet[T any](ctx context.Context, s Creatable[T], key string, value T, opts ...WriteOption) (stored T, created bool, err error) {
	for range Attempts {
		if created, err = CreateIfAbsent(ctx, s, key, value, opts...); created || err != nil {
			return value, created, err
		}
		// Beaten to it; read the winner's value. It can vanish in between (a TTL, a delete): then try again.
		if stored, _, err = s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
			return stored, false, err
		}
	}
	return stored, false, fmt.Errorf("creating %s: %w", key, ErrContended)
}

// GetOrCreate is CreateOrGet for keys that usually exist (a redelivery finding its decision): it reads first,
// so the common case costs no failed write — Dapr counts those against the state store's circuit breaker.
func GetOrCreate[T any](ctx context.Context, s Creatable[T], key string, value T, opts ...WriteOption) (stored T, created bool, err error) {
	for range Attempts {
		if stored, _, err = s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
			return stored, false, err
		}
		if created, err = CreateIfAbsent(ctx, s, key, value, opts...); created || err != nil {
			return value, created, err
		}
	}
	return stored, false, fmt.Errorf("creating %s: %w", key, ErrContended)
}

// Transactional is what MutateMany needs of a store.
type Transactional[T any] interface {
	GetMany(ctx context.Context, keys []string) (map[string]Entry[T], error)
	Transact(ctx context.Context, writes []Write[T]) error
}

// MutateMany is optimistic read-modify-write over several existing keys. Each attempt reads keys, lets change
// compute the new values of the keys it wants to write (found holds the keys that exist, with their ETags),
// and writes them in one transaction, each under the ETag it was read at; it starts over whenever a check
// fails, and gives up with ErrContended after Attempts tries. change returns no values to write nothing, or
// an error to stop (returned as is). Like Mutate's, change may run several times and must not write: it may
// read other keys, and that is the point of running it after the read — what it reads is checked against
// state no older than the values it is given.
//
// Transact is not atomic on every store (see the package doc): a failed attempt may have applied some of its
// writes. change therefore describes a target state (for example "order o holds 2 on this SKU"), not a delta,
// so that the next attempt, seeing the partial result, completes it instead of applying it twice. MutateMany
// never creates a key: change may only return keys it was given in found.
func MutateMany[T any](ctx context.Context, s Transactional[T], keys []string,
	change func(found map[string]Entry[T]) (map[string]T, error)) error {
	for range Attempts {
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
