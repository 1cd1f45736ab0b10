package kvfake_test

import (
	"testing"

	"orderflow/internal/kv/kvfake"
	"orderflow/internal/kv/kvtest"
)

func TestFakeHonoursTheKVContract(t *testing.T) {
	t.Parallel()
	kvtest.Run(t, kvfake.New[kvtest.Doc](), "fake-")
}
