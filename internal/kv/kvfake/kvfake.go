// Package kvfake is an in-memory kv.Store for unit tests. It honours the same contract as the Dapr adapter
// (create-only, ETag checks) and is safe for concurrent use, so domain tests can exercise races.
package kvfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"orderflow/internal/kv"
)

type record struct {
	data    []byte
	version int
	expires time.Time
}

// Store keeps JSON-encoded values so tests cannot accidentally share mutable state with the store.
type Store[T any] struct {
	mu   sync.Mutex
	data map[string]record
	now  func() time.Time
	// FailNext, when set, makes the next operation return this error (then it is cleared).
	failNext error
	// nonAtomic makes Transact behave like Redis: writes whose ETag still matches are applied even when
	// another write of the same transaction fails its check.
	nonAtomic bool
}

// New returns an empty store.
func New[T any]() *Store[T] {
	return &Store[T]{data: map[string]record{}, now: time.Now}
}

// NewNonAtomic returns a store whose transactions are not atomic, like Dapr's Redis state store: when one
// write's ETag check fails, the other writes are still applied. Domain code must be correct on it.
func NewNonAtomic[T any]() *Store[T] {
	s := New[T]()
	s.nonAtomic = true
	return s
}

// FailNext makes the next operation fail with err, to exercise error paths.
func (s *Store[T]) FailNext(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = err
}

func (s *Store[T]) takeFailure() error {
	err := s.failNext
	s.failNext = nil
	return err
}

func (s *Store[T]) live(key string) (record, bool) {
	r, ok := s.data[key]
	if ok && !r.expires.IsZero() && !s.now().Before(r.expires) {
		delete(s.data, key)
		return record{}, false
	}
	return r, ok
}

// Get implements kv.Store.
func (s *Store[T]) Get(_ context.Context, key string) (T, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v T
	if err := s.takeFailure(); err != nil {
		return v, "", err
	}
	r, ok := s.live(key)
	if !ok {
		return v, "", fmt.Errorf("getting %q: %w", key, kv.ErrNotFound)
	}
	if err := json.Unmarshal(r.data, &v); err != nil {
		return v, "", fmt.Errorf("decoding %q: %w", key, err)
	}
	return v, strconv.Itoa(r.version), nil
}

// GetMany implements kv.Store.
func (s *Store[T]) GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[T], error) {
	out := make(map[string]kv.Entry[T], len(keys))
	for _, k := range keys {
		v, etag, err := s.Get(ctx, k)
		if err != nil {
			if errors.Is(err, kv.ErrNotFound) {
				continue
			}
			return nil, err
		}
		out[k] = kv.Entry[T]{Key: k, Value: v, ETag: etag}
	}
	return out, nil
}

// Create implements kv.Store.
func (s *Store[T]) Create(_ context.Context, key string, value T, opts ...kv.WriteOption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.takeFailure(); err != nil {
		return err
	}
	if _, ok := s.live(key); ok {
		return fmt.Errorf("creating %q: %w", key, kv.ErrConflict)
	}
	return s.put(key, value, 0, kv.ApplyOptions(opts))
}

// Update implements kv.Store.
func (s *Store[T]) Update(_ context.Context, key string, value T, etag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.takeFailure(); err != nil {
		return err
	}
	r, ok := s.live(key)
	if !ok || strconv.Itoa(r.version) != etag {
		return fmt.Errorf("updating %q: %w", key, kv.ErrConflict)
	}
	return s.put(key, value, r.version, kv.WriteOptions{})
}

// Delete implements kv.Store.
func (s *Store[T]) Delete(_ context.Context, key, etag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.takeFailure(); err != nil {
		return err
	}
	r, ok := s.live(key)
	if etag != "" && (!ok || strconv.Itoa(r.version) != etag) {
		return fmt.Errorf("deleting %q: %w", key, kv.ErrConflict)
	}
	delete(s.data, key)
	return nil
}

// Transact implements kv.Store. Unlike Redis it is atomic, which the kv contract permits.
func (s *Store[T]) Transact(_ context.Context, writes []kv.Write[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.takeFailure(); err != nil {
		return err
	}
	writes = slices.Clone(writes)
	var failed error
	for i, w := range writes {
		if w.ETag == "" {
			continue
		}
		r, ok := s.live(w.Key)
		if !ok || strconv.Itoa(r.version) != w.ETag {
			failed = fmt.Errorf("transaction on %q: %w", w.Key, kv.ErrConflict)
			if !s.nonAtomic {
				return failed
			}
			writes[i].Key = "" // skip it, apply the rest
		}
	}
	for _, w := range writes {
		if w.Key == "" {
			continue
		}
		if w.Delete {
			delete(s.data, w.Key)
			continue
		}
		r, _ := s.live(w.Key)
		if err := s.put(w.Key, w.Value, r.version, kv.WriteOptions{}); err != nil {
			return err
		}
	}
	return failed
}

func (s *Store[T]) put(key string, value T, version int, o kv.WriteOptions) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encoding %q: %w", key, err)
	}
	r := record{data: b, version: version + 1}
	if o.TTL > 0 {
		r.expires = s.now().Add(o.TTL)
	}
	s.data[key] = r
	return nil
}

// Keys lists the live keys, for assertions.
func (s *Store[T]) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.data))
	for k := range s.data {
		if _, ok := s.live(k); ok {
			keys = append(keys, k)
		}
	}
	return keys
}
