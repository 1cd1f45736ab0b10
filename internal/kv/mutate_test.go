package kv_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	require.NoError(t, kv.Mutate(ctx, store, "k", add(1)))
	require.NoError(t, kv.Mutate(ctx, store, "k", add(2)))
	require.NoError(t, kv.Mutate(ctx, store, "k", add(2)))
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
			assert.NoError(t, kv.Mutate(ctx, store, "k", func(l *list, _ bool) bool {
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
	err := kv.Mutate(ctx, store, "k", func(l *list, _ bool) bool {
		// Another writer commits between our read and our write, every time.
		_, etag, _ := store.Get(ctx, "k")
		require.NoError(t, store.Update(ctx, "k", list{Items: []int{9}}, etag))
		l.Items = append(l.Items, 1)
		return true
	})
	assert.ErrorIs(t, err, kv.ErrContended)
}

// total is a MutateMany change that sets every found list to hold n, and leaves lists that already do alone.
func total(n int) func(found map[string]kv.Entry[list]) (map[string]list, error) {
	return func(found map[string]kv.Entry[list]) (map[string]list, error) {
		out := map[string]list{}
		for k, e := range found {
			if !slices.Contains(e.Value.Items, n) {
				out[k] = list{Items: append(slices.Clone(e.Value.Items), n)}
			}
		}
		return out, nil
	}
}

func seed(t *testing.T, store *kvfake.Store[list], keys ...string) {
	t.Helper()
	for _, k := range keys {
		require.NoError(t, store.Create(context.Background(), k, list{}))
	}
}

func items(t *testing.T, store *kvfake.Store[list], key string) []int {
	t.Helper()
	got, _, err := store.Get(context.Background(), key)
	require.NoError(t, err)
	return got.Items
}

func TestMutateMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	errStop := errors.New("stop")
	tests := []struct {
		name   string
		change func(store *kvfake.Store[list]) func(map[string]kv.Entry[list]) (map[string]list, error)
		err    error
		errMsg string // for an error with no sentinel
		want   map[string][]int
	}{
		{name: "writes what change returns and skips missing keys",
			change: func(*kvfake.Store[list]) func(map[string]kv.Entry[list]) (map[string]list, error) { return total(1) },
			want:   map[string][]int{"a": {1}, "b": {1}}},
		{name: "writes nothing when change returns nothing",
			change: func(*kvfake.Store[list]) func(map[string]kv.Entry[list]) (map[string]list, error) {
				return func(map[string]kv.Entry[list]) (map[string]list, error) { return nil, nil }
			},
			want: map[string][]int{"a": nil, "b": nil}},
		{name: "change's error stops it",
			change: func(*kvfake.Store[list]) func(map[string]kv.Entry[list]) (map[string]list, error) {
				return func(map[string]kv.Entry[list]) (map[string]list, error) { return nil, errStop }
			},
			err: errStop, want: map[string][]int{"a": nil, "b": nil}},
		{name: "a key it did not find is never created",
			change: func(*kvfake.Store[list]) func(map[string]kv.Entry[list]) (map[string]list, error) {
				return func(map[string]kv.Entry[list]) (map[string]list, error) { return map[string]list{"missing": {}}, nil }
			},
			errMsg: "writes only keys it read and found", want: map[string][]int{"a": nil, "b": nil}},
		{name: "a write beaten by another writer starts over from what is stored",
			change: func(store *kvfake.Store[list]) func(map[string]kv.Entry[list]) (map[string]list, error) {
				beaten := false
				return func(found map[string]kv.Entry[list]) (map[string]list, error) {
					if !beaten {
						beaten = true
						_, etag, _ := store.Get(ctx, "b")
						require.NoError(t, store.Update(ctx, "b", list{Items: []int{9}}, etag))
					}
					return total(1)(found)
				}
			},
			want: map[string][]int{"a": {1}, "b": {9, 1}}},
		{name: "gives up when always beaten",
			change: func(store *kvfake.Store[list]) func(map[string]kv.Entry[list]) (map[string]list, error) {
				return func(found map[string]kv.Entry[list]) (map[string]list, error) {
					_, etag, _ := store.Get(ctx, "b")
					require.NoError(t, store.Update(ctx, "b", list{}, etag))
					return total(1)(found)
				}
			},
			err: kv.ErrContended, want: map[string][]int{"a": {1}, "b": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Redis-like: when b's check fails, a's write is still applied, and the next attempt must complete
			// rather than repeat it.
			store := kvfake.NewNonAtomic[list]()
			seed(t, store, "a", "b")
			err := kv.MutateMany(ctx, store, []string{"a", "b", "missing"}, tc.change(store))
			switch {
			case tc.errMsg != "":
				require.ErrorContains(t, err, tc.errMsg)
			case tc.err != nil:
				require.ErrorIs(t, err, tc.err)
			default:
				require.NoError(t, err)
			}
			for k, want := range tc.want {
				assert.Equal(t, want, items(t, store, k), k)
			}
			assert.NotContains(t, store.Keys(), "missing")
		})
	}
}

func TestMutateManyUnderContentionLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := kvfake.NewNonAtomic[list]()
	seed(t, store, "a", "b")
	var wg sync.WaitGroup
	for n := range 20 {
		wg.Go(func() { assert.NoError(t, kv.MutateMany(ctx, store, []string{"a", "b"}, total(n))) })
	}
	wg.Wait()
	for _, k := range []string{"a", "b"} {
		got := items(t, store, k)
		slices.Sort(got)
		assert.Len(t, got, 20, k)
		assert.Equal(t, slices.Compact(slices.Clone(got)), got, "%s: each change applied once", k)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	errStop := errors.New("stop")
	tests := []struct {
		name     string
		seed     *list
		decide   func(l *list, exists bool) (string, bool, error)
		want     string
		wantErr  error
		wantList *list // nil: the key must not exist
	}{
		{name: "creates a missing key and returns the result",
			decide: func(l *list, exists bool) (string, bool, error) {
				l.Items = []int{1}
				return fmt.Sprint("existed=", exists), true, nil
			},
			want: "existed=false", wantList: &list{Items: []int{1}}},
		{name: "updates an existing key",
			seed: &list{Items: []int{1}},
			decide: func(l *list, exists bool) (string, bool, error) {
				l.Items = append(l.Items, 2)
				return fmt.Sprint("existed=", exists), true, nil
			},
			want: "existed=true", wantList: &list{Items: []int{1, 2}}},
		{name: "returns the result without writing",
			seed: &list{Items: []int{1}},
			decide: func(l *list, _ bool) (string, bool, error) {
				l.Items = nil
				return "kept", false, nil
			},
			want: "kept", wantList: &list{Items: []int{1}}},
		{name: "an error stops it before writing",
			decide: func(l *list, _ bool) (string, bool, error) {
				l.Items = []int{1}
				return "ignored", true, errStop
			},
			wantErr: errStop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := kvfake.New[list]()
			if tc.seed != nil {
				require.NoError(t, store.Create(ctx, "k", *tc.seed))
			}
			got, err := kv.Decide(ctx, store, "k", tc.decide)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Empty(t, got)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}
			if tc.wantList == nil {
				assert.Empty(t, store.Keys())
				return
			}
			assert.Equal(t, tc.wantList.Items, items(t, store, "k"))
		})
	}
}

func TestDecideReturnsTheResultOfTheRunThatWrote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := kvfake.New[list]()
	require.NoError(t, store.Create(ctx, "k", list{}))
	runs := 0
	got, err := kv.Decide(ctx, store, "k", func(l *list, _ bool) (int, bool, error) {
		runs++
		if runs == 1 { // another writer commits between this run's read and its write
			_, etag, _ := store.Get(ctx, "k")
			require.NoError(t, store.Update(ctx, "k", list{Items: []int{9}}, etag))
		}
		l.Items = append(l.Items, runs)
		return len(l.Items), true, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, got, "the second run saw the other writer's item")
	assert.Equal(t, []int{9, 2}, items(t, store, "k"))
}

func TestCreateHelpers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type createFunc func(ctx context.Context, s kv.Creatable[list], key string, v list, opts ...kv.WriteOption) (list, bool, error)
	tests := []struct {
		name        string
		create      createFunc
		seed        bool
		wantCreated bool
		want        []int
	}{
		{name: "CreateOrGet creates a new key", create: kv.CreateOrGet[list], wantCreated: true, want: []int{2}},
		{name: "CreateOrGet returns the value that stands", create: kv.CreateOrGet[list], seed: true, want: []int{1}},
		{name: "GetOrCreate creates a new key", create: kv.GetOrCreate[list], wantCreated: true, want: []int{2}},
		{name: "GetOrCreate returns the value that stands", create: kv.GetOrCreate[list], seed: true, want: []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := kvfake.New[list]()
			if tc.seed {
				require.NoError(t, store.Create(ctx, "k", list{Items: []int{1}}))
			}
			got, created, err := tc.create(ctx, store, "k", list{Items: []int{2}})
			require.NoError(t, err)
			assert.Equal(t, tc.wantCreated, created)
			assert.Equal(t, tc.want, got.Items)
			assert.Equal(t, tc.want, items(t, store, "k"))
		})
	}
}

func TestCreateIfAbsentLeavesAnExistingKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := kvfake.New[list]()
	created, err := kv.CreateIfAbsent(ctx, store, "k", list{Items: []int{1}})
	require.NoError(t, err)
	assert.True(t, created)
	created, err = kv.CreateIfAbsent(ctx, store, "k", list{Items: []int{2}})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, []int{1}, items(t, store, "k"))
}
