// Package kvtest is the contract suite every kv.Store implementation must pass: the in-memory fake in unit
// tests and the Dapr adapter against real sidecars and stores in integration tests. Keeping one suite is what
// lets unit tests trust the fake.
package kvtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/kv"
)

// Doc is the value type the suite stores.
type Doc struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Run exercises store. Keys are prefixed with prefix so parallel runs against a shared backend never collide.
func Run(t *testing.T, store kv.Store[Doc], prefix string) {
	t.Helper()
	ctx := context.Background()
	key := func(name string) string { return prefix + name }

	t.Run("get missing key reports not found", func(t *testing.T) {
		t.Parallel()
		_, _, err := store.Get(ctx, key("missing"))
		require.ErrorIs(t, err, kv.ErrNotFound)
	})

	t.Run("create then get returns value and etag", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("create"), Doc{Name: "a", Count: 1}))
		got, etag, err := store.Get(ctx, key("create"))
		require.NoError(t, err)
		assert.Equal(t, Doc{Name: "a", Count: 1}, got)
		assert.NotEmpty(t, etag)
	})

	t.Run("create on existing key conflicts and keeps the first value", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("dup"), Doc{Name: "first"}))
		err := store.Create(ctx, key("dup"), Doc{Name: "second"})
		require.ErrorIs(t, err, kv.ErrConflict)
		got, _, err := store.Get(ctx, key("dup"))
		require.NoError(t, err)
		assert.Equal(t, "first", got.Name)
	})

	t.Run("create on a key that was updated still conflicts", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("upd-dup"), Doc{Name: "v1"}))
		_, etag, err := store.Get(ctx, key("upd-dup"))
		require.NoError(t, err)
		require.NoError(t, store.Update(ctx, key("upd-dup"), Doc{Name: "v2"}, etag))
		require.ErrorIs(t, store.Create(ctx, key("upd-dup"), Doc{Name: "v3"}), kv.ErrConflict)
	})

	t.Run("update with current etag succeeds and changes the etag", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("upd"), Doc{Count: 1}))
		_, etag, err := store.Get(ctx, key("upd"))
		require.NoError(t, err)
		require.NoError(t, store.Update(ctx, key("upd"), Doc{Count: 2}, etag))
		got, etag2, err := store.Get(ctx, key("upd"))
		require.NoError(t, err)
		assert.Equal(t, 2, got.Count)
		assert.NotEqual(t, etag, etag2)
	})

	t.Run("update with stale etag conflicts", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("stale"), Doc{Count: 1}))
		_, etag, err := store.Get(ctx, key("stale"))
		require.NoError(t, err)
		require.NoError(t, store.Update(ctx, key("stale"), Doc{Count: 2}, etag))
		require.ErrorIs(t, store.Update(ctx, key("stale"), Doc{Count: 3}, etag), kv.ErrConflict)
		got, _, err := store.Get(ctx, key("stale"))
		require.NoError(t, err)
		assert.Equal(t, 2, got.Count)
	})

	t.Run("concurrent read-modify-write loses no increment", func(t *testing.T) {
		t.Parallel()
		k := key("counter")
		require.NoError(t, store.Create(ctx, k, Doc{}))
		const workers, each = 4, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := increment(ctx, store, k); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got, _, err := store.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, workers*each, got.Count)
	})

	t.Run("get many returns present keys only", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("many-a"), Doc{Name: "a"}))
		require.NoError(t, store.Create(ctx, key("many-b"), Doc{Name: "b"}))
		got, err := store.GetMany(ctx, []string{key("many-a"), key("many-b"), key("many-missing")})
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, "a", got[key("many-a")].Value.Name)
		assert.NotEmpty(t, got[key("many-b")].ETag)
	})

	t.Run("delete with etag removes and stale etag conflicts", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("del"), Doc{}))
		_, etag, err := store.Get(ctx, key("del"))
		require.NoError(t, err)
		require.NoError(t, store.Update(ctx, key("del"), Doc{Count: 1}, etag))
		require.ErrorIs(t, store.Delete(ctx, key("del"), etag), kv.ErrConflict)
		_, etag, err = store.Get(ctx, key("del"))
		require.NoError(t, err)
		require.NoError(t, store.Delete(ctx, key("del"), etag))
		_, _, err = store.Get(ctx, key("del"))
		require.ErrorIs(t, err, kv.ErrNotFound)
	})

	t.Run("transaction applies all writes when etags match", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("tx-a"), Doc{Count: 1}))
		require.NoError(t, store.Create(ctx, key("tx-b"), Doc{Count: 1}))
		require.NoError(t, store.Create(ctx, key("tx-c"), Doc{}))
		got, err := store.GetMany(ctx, []string{key("tx-a"), key("tx-b"), key("tx-c")})
		require.NoError(t, err)
		require.NoError(t, store.Transact(ctx, []kv.Write[Doc]{
			{Key: key("tx-a"), Value: Doc{Count: 2}, ETag: got[key("tx-a")].ETag},
			{Key: key("tx-b"), Value: Doc{Count: 2}, ETag: got[key("tx-b")].ETag},
			{Key: key("tx-c"), ETag: got[key("tx-c")].ETag, Delete: true},
		}))
		after, err := store.GetMany(ctx, []string{key("tx-a"), key("tx-b"), key("tx-c")})
		require.NoError(t, err)
		assert.Equal(t, 2, after[key("tx-a")].Value.Count)
		assert.Equal(t, 2, after[key("tx-b")].Value.Count)
		assert.NotContains(t, after, key("tx-c"))
	})

	t.Run("transaction with a stale etag conflicts and does not apply that write", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("txs-a"), Doc{Count: 1}))
		require.NoError(t, store.Create(ctx, key("txs-b"), Doc{Count: 1}))
		got, err := store.GetMany(ctx, []string{key("txs-a"), key("txs-b")})
		require.NoError(t, err)
		require.NoError(t, store.Update(ctx, key("txs-b"), Doc{Count: 5}, got[key("txs-b")].ETag))
		err = store.Transact(ctx, []kv.Write[Doc]{
			{Key: key("txs-a"), Value: Doc{Count: 2}, ETag: got[key("txs-a")].ETag},
			{Key: key("txs-b"), Value: Doc{Count: 2}, ETag: got[key("txs-b")].ETag},
		})
		require.ErrorIs(t, err, kv.ErrConflict)
		b, _, err := store.Get(ctx, key("txs-b"))
		require.NoError(t, err)
		assert.Equal(t, 5, b.Count, "the write with the stale etag must not be applied")
	})

	t.Run("create with ttl expires", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, store.Create(ctx, key("ttl"), Doc{Name: "short"}, kv.WithTTL(time.Second)))
		_, _, err := store.Get(ctx, key("ttl"))
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, _, err := store.Get(ctx, key("ttl"))
			return errors.Is(err, kv.ErrNotFound)
		}, 10*time.Second, 100*time.Millisecond)
	})
}

func increment(ctx context.Context, store kv.Store[Doc], key string) error {
	for attempt := 0; attempt < 200; attempt++ {
		d, etag, err := store.Get(ctx, key)
		if err != nil {
			return err
		}
		d.Count++
		err = store.Update(ctx, key, d, etag)
		if errors.Is(err, kv.ErrConflict) {
			continue
		}
		return err
	}
	return fmt.Errorf("incrementing %s: too many conflicts", key)
}
