// Package tracing carries a W3C trace context (the traceparent header) through a request or event, so the
// id a customer's request starts with appears in every service's logs and in every event it causes. Dapr
// forwards traceparent on deliveries; orderflow writes it into the CloudEvents it publishes.
package tracing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Parent is a parsed traceparent: version-traceid-spanid-flags.
type Parent struct {
	TraceID string
	SpanID  string
	Flags   string
}

// Parse reads a traceparent header value; ok is false when it is malformed or all-zero.
func Parse(header string) (Parent, bool) {
	parts := strings.Split(strings.TrimSpace(header), "-")
	if len(parts) != 4 || len(parts[0]) != 2 || !isHex(parts[1], 32) || !isHex(parts[2], 16) || !isHex(parts[3], 2) {
		return Parent{}, false
	}
	if strings.Trim(parts[1], "0") == "" || strings.Trim(parts[2], "0") == "" {
		return Parent{}, false
	}
	return Parent{TraceID: parts[1], SpanID: parts[2], Flags: parts[3]}, true
}

// New starts a new trace.
func New() Parent {
	return Parent{TraceID: randomHex(16), SpanID: randomHex(8), Flags: "01"}
}

// Child keeps the trace id and starts a new span, for work done on behalf of p.
func (p Parent) Child() Parent {
	return Parent{TraceID: p.TraceID, SpanID: randomHex(8), Flags: p.Flags}
}

// String renders the traceparent header value.
func (p Parent) String() string {
	if p.TraceID == "" {
		return ""
	}
	return "00-" + p.TraceID + "-" + p.SpanID + "-" + p.Flags
}

// FromHeader parses header, or starts a new trace when it is absent or malformed.
func FromHeader(header string) Parent {
	if p, ok := Parse(header); ok {
		return p.Child()
	}
	return New()
}

type ctxKey struct{}

// Into returns a context carrying p.
func Into(ctx context.Context, p Parent) context.Context { return context.WithValue(ctx, ctxKey{}, p) }

// From returns the context's trace parent, or the zero value.
func From(ctx context.Context) Parent {
	p, _ := ctx.Value(ctxKey{}).(Parent)
	return p
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms (Go 1.24+).
	return hex.EncodeToString(b)
}
