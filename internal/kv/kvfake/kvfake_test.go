package kvfake_test

import (
	"testing"

	"orderflow/internal/kv/kvfake"
	"orderflow/internal/kv/kvtest"
)

func TestFakeHonoursTheKVContract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		store *kvfake.Store[kvtest.Doc]
	}{
		{"atomic transactions", kvfake.New[kvtest.Doc]()},
		{"redis-like transactions", kvfake.NewNonAtomic[kvtest.Doc]()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kvtest.Run(t, tc.store, "fake-")
		})
	}
}
