package daprx

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"orderflow/internal/apperr"
	"orderflow/internal/kv"
)

// StateClient is the part of the Dapr client a Store uses.
type StateClient interface {
	GetState(ctx context.Context, storeName, key string, meta map[string]string) (*dapr.StateItem, error)
	GetBulkState(ctx context.Context, storeName string, keys []string, meta map[string]string, parallelism int32) ([]*dapr.BulkStateItem, error)
	SaveState(ctx context.Context, storeName, key string, data []byte, meta map[string]string, so ...dapr.StateOption) error
	SaveStateWithETag(ctx context.Context, storeName, key string, data []byte, etag string, meta map[string]string, so ...dapr.StateOption) error
	DeleteStateWithETag(ctx context.Context, storeName, key string, etag *dapr.ETag, meta map[string]string, opts *dapr.StateOptions) error
	ExecuteStateTransaction(ctx context.Context, storeName string, meta map[string]string, ops []*dapr.StateOperation) error
}

// Store is a kv.Store over a Dapr state store component, with JSON values and first-write concurrency on
// every write (so a create-only write and an ETag check mean the same on Redis, PostgreSQL and MySQL).
type Store[T any] struct {
	client StateClient
	name   string
}

var _ kv.Store[struct{}] = (*Store[struct{}])(nil)

// NewStore returns a Store for the state store component called name.
func NewStore[T any](client StateClient, name string) *Store[T] {
	return &Store[T]{client: client, name: name}
}

var firstWrite = &dapr.StateOptions{Concurrency: dapr.StateConcurrencyFirstWrite, Consistency: dapr.StateConsistencyStrong}

// Get implements kv.Store.
func (s *Store[T]) Get(ctx context.Context, key string) (T, string, error) {
	var v T
	item, err := s.client.GetState(ctx, s.name, key, nil)
	if err != nil {
		return v, "", unavailable(err, "reading %s from %s", key, s.name)
	}
	if item == nil || len(item.Value) == 0 {
		return v, "", fmt.Errorf("reading %s from %s: %w", key, s.name, kv.ErrNotFound)
	}
	if err := json.Unmarshal(item.Value, &v); err != nil {
		return v, "", fmt.Errorf("decoding %s from %s: %w", key, s.name, err)
	}
	return v, item.Etag, nil
}

// GetMany implements kv.Store.
func (s *Store[T]) GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[T], error) {
	out := make(map[string]kv.Entry[T], len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	items, err := s.client.GetBulkState(ctx, s.name, keys, nil, 0)
	if err != nil {
		return nil, unavailable(err, "reading %d keys from %s", len(keys), s.name)
	}
	for _, it := range items {
		if it.Error != "" {
			return nil, apperr.New(apperr.Unavailable, "reading %s from %s: %s", it.Key, s.name, it.Error)
		}
		if len(it.Value) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return nil, fmt.Errorf("decoding %s from %s: %w", it.Key, s.name, err)
		}
		out[it.Key] = kv.Entry[T]{Key: it.Key, Value: v, ETag: it.Etag}
	}
	return out, nil
}

// Create implements kv.Store. Stores report a create-only write on an existing key inconsistently (Redis and
// PostgreSQL as a plain error, MySQL as an ETag mismatch), so a failed create is confirmed by reading the key.
func (s *Store[T]) Create(ctx context.Context, key string, value T, opts ...kv.WriteOption) error {
	data, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	var meta map[string]string
	if o := kv.ApplyOptions(opts); o.TTL > 0 {
		meta = map[string]string{"ttlInSeconds": strconv.Itoa(int(o.TTL.Seconds()))}
	}
	err = s.client.SaveState(ctx, s.name, key, data, meta, dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	if err == nil {
		return nil
	}
	if _, _, getErr := s.Get(ctx, key); getErr == nil {
		return fmt.Errorf("creating %s in %s: %w", key, s.name, kv.ErrConflict)
	}
	return unavailable(err, "creating %s in %s", key, s.name)
}

// Update implements kv.Store.
func (s *Store[T]) Update(ctx context.Context, key string, value T, etag string) error {
	data, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	err = s.client.SaveStateWithETag(ctx, s.name, key, data, etag, nil, dapr.WithConcurrency(dapr.StateConcurrencyFirstWrite))
	if isETagMismatch(err) {
		return fmt.Errorf("updating %s in %s: %w", key, s.name, kv.ErrConflict)
	}
	if err != nil {
		return unavailable(err, "updating %s in %s", key, s.name)
	}
	return nil
}

// Delete implements kv.Store.
func (s *Store[T]) Delete(ctx context.Context, key, etag string) error {
	var tag *dapr.ETag
	if etag != "" {
		tag = &dapr.ETag{Value: etag}
	}
	err := s.client.DeleteStateWithETag(ctx, s.name, key, tag, nil, firstWrite)
	if isETagMismatch(err) {
		return fmt.Errorf("deleting %s from %s: %w", key, s.name, kv.ErrConflict)
	}
	if err != nil {
		return unavailable(err, "deleting %s from %s", key, s.name)
	}
	return nil
}

// Transact implements kv.Store. Dapr reports every failed transaction as an internal error, so an ETag
// conflict is told apart from an outage by re-reading the keys: if any ETag moved, it was a conflict.
func (s *Store[T]) Transact(ctx context.Context, writes []kv.Write[T]) error {
	ops := make([]*dapr.StateOperation, 0, len(writes))
	for _, w := range writes {
		item := &dapr.SetStateItem{Key: w.Key, Options: firstWrite}
		if w.ETag != "" {
			item.Etag = &dapr.ETag{Value: w.ETag}
		}
		op := &dapr.StateOperation{Type: dapr.StateOperationTypeDelete, Item: item}
		if !w.Delete {
			data, err := json.Marshal(w.Value)
			if err != nil {
				return fmt.Errorf("encoding %s: %w", w.Key, err)
			}
			item.Value = data
			op.Type = dapr.StateOperationTypeUpsert
		}
		ops = append(ops, op)
	}
	err := s.client.ExecuteStateTransaction(ctx, s.name, nil, ops)
	if err == nil {
		return nil
	}
	if s.etagsMoved(ctx, writes) {
		return fmt.Errorf("transaction on %s: %w", s.name, kv.ErrConflict)
	}
	return unavailable(err, "transaction on %s", s.name)
}

func (s *Store[T]) etagsMoved(ctx context.Context, writes []kv.Write[T]) bool {
	keys := make([]string, 0, len(writes))
	for _, w := range writes {
		if w.ETag != "" {
			keys = append(keys, w.Key)
		}
	}
	current, err := s.GetMany(ctx, keys)
	if err != nil {
		return false
	}
	for _, w := range writes {
		if w.ETag == "" {
			continue
		}
		if e, ok := current[w.Key]; !ok || e.ETag != w.ETag {
			return true
		}
	}
	return false
}

// isETagMismatch recognises Dapr's answer to a failed ETag check: gRPC Aborted ("possible etag mismatch").
func isETagMismatch(err error) bool {
	return err != nil && status.Code(err) == codes.Aborted
}

// unavailable classifies a sidecar failure as transient: the caller may retry (HTTP 503, event RETRY).
func unavailable(err error, format string, args ...any) error {
	return apperr.Wrap(apperr.Unavailable, err, format, args...)
}
