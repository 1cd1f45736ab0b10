package kv_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/kv"
	"orderflow/internal/kv/kvfake"
)

type list struct {
	Items []int `json:"items"`
}

func TestMutateCreatesUpdatesAndSkips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := kvfake.New[list]()
	add := func(n int) func(l *list, exists bool) bool {
		return func(l *list, _ bool) bool {
			for _, i := range l.Items {
				if i == n {
					return false
				}
			}
			l.Items = append(l.Items, n)
			return true
		}
	}
	require.NoError(t, kv.Mutate(ctx, store, "k", 5, add(1)))
	require.NoError(t, kv.Mutate(ctx, store, "k", 5, add(2)))
	require.NoError(t, kv.Mutate(ctx, store, "k", 5, add(2)))
	got, _, err := store.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, got.Items)
}

func TestMutateUnderContentionLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := kvfake.New[list]()
	var wg sync.WaitGroup
	for n := 0; n < 20; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, kv.Mutate(ctx, store, "k", 200, func(l *list, _ bool) bool {
				l.Items = append(l.Items, n)
				return true
			}))
		}()
	}
	wg.Wait()
	got, _, err := store.Get(ctx, "k")
	require.NoError(t, err)
	assert.Len(t, got.Items, 20)
}

func TestMutateGivesUpWhenAlwaysBeaten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := kvfake.New[list]()
	require.NoError(t, store.Create(ctx, "k", list{}))
	err := kv.Mutate(ctx, store, "k", 3, func(l *list, _ bool) bool {
		// Another writer commits between our read and our write, every time.
		_, etag, _ := store.Get(ctx, "k")
		require.NoError(t, store.Update(ctx, "k", list{Items: []int{9}}, etag))
		l.Items = append(l.Items, 1)
		return true
	})
	assert.ErrorIs(t, err, kv.ErrContended)
}
