package harness

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisAddr is the machine's Redis, which the redis profile's components use.
const RedisAddr = "127.0.0.1:6379"

// cleanRedis removes what a run left in Redis: state keys (prefixed "<app>-<suffix>||") and streams (the
// run's topics, including dead-letter topics, with their consumer groups).
func cleanRedis(t testing.TB, suffix, topicPrefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: RedisAddr})
	defer rdb.Close()
	for _, pattern := range []string{"*-" + suffix + "||*", topicPrefix + "*"} {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 500 {
				rdb.Unlink(ctx, batch...)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			rdb.Unlink(ctx, batch...)
		}
		if err := iter.Err(); err != nil {
			t.Logf("harness: cleaning Redis (%s): %v", pattern, err)
		}
	}
}

// RedisClient returns a client to the machine's Redis for assertions on what the sidecars wrote; it is
// closed when the test ends.
func RedisClient(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: RedisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
