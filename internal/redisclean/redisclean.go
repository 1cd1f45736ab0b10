// Package redisclean removes what an isolated run (tests, the benchmark) left in Redis: the state keys of its
// app ids ("<app>-<suffix>||…", Dapr's app-id key prefix) and the streams of its topics (with their consumer
// groups). It talks to Redis directly because it cleans up after the sidecars, not on behalf of a service.
package redisclean

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Run deletes the keys of app-id suffix and the streams starting with topicPrefix from the Redis at addr.
func Run(addr, suffix, topicPrefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for _, pattern := range []string{"*-" + suffix + "||*", topicPrefix + "*"} {
		iter := rdb.Scan(ctx, 0, pattern, 500).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 500 {
				if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
					return fmt.Errorf("deleting %s: %w", pattern, err)
				}
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("deleting %s: %w", pattern, err)
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("scanning %s: %w", pattern, err)
		}
	}
	return nil
}
