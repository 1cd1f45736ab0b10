package harness

import (
	"testing"

	"orderflow/internal/redisclean"
)

// RedisAddr is the machine's Redis, which the redis profile's components use.
const RedisAddr = "127.0.0.1:6379"

// cleanRedis removes what a run left in Redis: state keys and streams with their consumer groups.
func cleanRedis(t testing.TB, suffix, topicPrefix string) {
	t.Helper()
	if err := redisclean.Run(RedisAddr, suffix, topicPrefix); err != nil {
		t.Logf("harness: cleaning Redis: %v", err)
	}
}
