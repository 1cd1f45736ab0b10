// Package settle waits briefly for a record another delivery is about to write. Events routinely overtake
// each other by a few milliseconds (stock.reserved can reach orders before the API has stored the order it
// announced); answering RETRY at once would cost the sidecar's retry backoff, 500 ms and more. Re-reading a
// few times first keeps the common race cheap, and only a record that stays missing becomes a RETRY.
package settle

import (
	"context"
	"time"
)

// Schedule is how long Read waits between attempts: about 150 ms in all.
var Schedule = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}

// Read calls read until it returns something other than a missing-record error (as judged by missing), or
// the schedule is spent, and returns the last result.
func Read[T any](ctx context.Context, read func(ctx context.Context) (T, string, error), missing func(error) bool) (T, string, error) {
	v, etag, err := read(ctx)
	for _, wait := range Schedule {
		if err == nil || !missing(err) {
			return v, etag, err
		}
		select {
		case <-ctx.Done():
			return v, etag, err
		case <-time.After(wait):
		}
		v, etag, err = read(ctx)
	}
	return v, etag, err
}
