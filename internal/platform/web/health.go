package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Check is one readiness condition. Func returns nil when the condition holds.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

type checkResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// RegisterHealth adds GET /healthz (the process is alive: always 200) and GET /readyz (200 only when every
// check passes, otherwise 503) to the public engine and to the ops engine, which serves the internal ops port.
// Both list the checks and whether each holds; only the ops port says why one fails, because the reasons name
// components, stores and sidecar addresses, which are no business of whoever can reach the public port.
func RegisterHealth(public, ops *gin.Engine, checks ...Check) {
	alive := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }
	readiness := func(detailed bool) gin.HandlerFunc {
		return func(c *gin.Context) {
			results := runChecks(c.Request.Context(), checks)
			status, word := http.StatusOK, "ready"
			for i, r := range results {
				if !r.OK {
					status, word = http.StatusServiceUnavailable, "not ready"
				}
				if !detailed {
					results[i].Error = ""
				}
			}
			c.JSON(status, gin.H{"status": word, "checks": results})
		}
	}
	public.GET("/healthz", alive)
	public.GET("/readyz", readiness(false))
	ops.GET("/healthz", alive)
	ops.GET("/readyz", readiness(true))
}

// runChecks runs every check concurrently, each bounded by the same two seconds.
func runChecks(ctx context.Context, checks []Check) []checkResult {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	results := make([]checkResult, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = checkResult{Name: ch.Name, OK: true}
			if err := ch.Func(ctx); err != nil {
				results[i] = checkResult{Name: ch.Name, Error: err.Error()}
			}
		}()
	}
	wg.Wait()
	return results
}
