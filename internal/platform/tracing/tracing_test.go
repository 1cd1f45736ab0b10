package tracing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"orderflow/internal/platform/tracing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		ok     bool
		trace  string
	}{
		{name: "valid", header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ok: true, trace: "4bf92f3577b34da6a3ce929d0e0e4736"},
		{name: "empty", header: ""},
		{name: "wrong part count", header: "00-4bf92f3577b34da6a3ce929d0e0e4736-01"},
		{name: "short trace id", header: "00-4bf92f35-00f067aa0ba902b7-01"},
		{name: "uppercase hex is invalid", header: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
		{name: "all-zero trace id", header: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, ok := tracing.Parse(tc.header)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.trace, p.TraceID)
		})
	}
}

func TestFromHeaderKeepsTraceAndRoundTrips(t *testing.T) {
	t.Parallel()
	in := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	p := tracing.FromHeader(in)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", p.TraceID)
	assert.NotEqual(t, "00f067aa0ba902b7", p.SpanID, "a child span gets its own id")
	back, ok := tracing.Parse(p.String())
	assert.True(t, ok)
	assert.Equal(t, p, back)

	fresh := tracing.FromHeader("garbage")
	_, ok = tracing.Parse(fresh.String())
	assert.True(t, ok)
}
