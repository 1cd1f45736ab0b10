package kv_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"orderflow/internal/kv"
)

func TestInKeyOrder(t *testing.T) {
	t.Parallel()
	found := map[string]kv.Entry[int]{"a": {Key: "a", Value: 1}, "b": {Key: "b", Value: 2}, "c": {Key: "c", Value: 3}}
	tests := []struct {
		name string
		keys []string
		want []int
	}{
		{name: "follows the keys, not the map", keys: []string{"c", "a", "b"}, want: []int{3, 1, 2}},
		{name: "leaves out missing keys", keys: []string{"b", "x", "a"}, want: []int{2, 1}},
		{name: "nothing found is an empty list, not nil", keys: []string{"x"}, want: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := kv.InKeyOrder(found, tt.keys)
			assert.NotNil(t, got)
			assert.Equal(t, tt.want, got)
		})
	}
}
