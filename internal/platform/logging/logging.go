// Package logging configures logrus for orderflow (JSON in clusters, text locally) and carries a request- or
// event-scoped entry in the context, so every line a handler writes names its request or event id and its
// trace id without each call site repeating them.
package logging

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/sirupsen/logrus"
)

// Field names shared by every service, so logs can be joined across services.
const (
	FieldApp       = "app"
	FieldRequestID = "request_id"
	FieldEventID   = "event_id"
	FieldEventType = "event_type"
	FieldTraceID   = "trace_id"
	FieldOrderID   = "order_id"
)

// New returns a logger writing to out in the given format ("json" or "text") at the given level.
func New(out io.Writer, format, level string) (*logrus.Logger, error) {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	l := logrus.New()
	l.SetOutput(out)
	l.SetLevel(lvl)
	switch strings.ToLower(format) {
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{TimestampFormat: "2006-01-02T15:04:05.000Z07:00"})
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05.000", DisableColors: true})
	default:
		return nil, fmt.Errorf("LOG_FORMAT: want json or text, got %q", format)
	}
	return l, nil
}

type ctxKey struct{}

// Into returns a context carrying entry.
func Into(ctx context.Context, entry *logrus.Entry) context.Context {
	return context.WithValue(ctx, ctxKey{}, entry)
}

// From returns the context's entry, or a standard-logger entry when none was attached (tests, start-up).
func From(ctx context.Context) *logrus.Entry {
	if e, ok := ctx.Value(ctxKey{}).(*logrus.Entry); ok {
		return e
	}
	return logrus.NewEntry(logrus.StandardLogger())
}

// With returns a context whose entry carries extra fields.
func With(ctx context.Context, fields logrus.Fields) context.Context {
	return Into(ctx, From(ctx).WithFields(fields))
}
