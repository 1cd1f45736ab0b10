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
// check passes; otherwise 503 listing what is not ready, so an operator sees why at a glance).
func RegisterHealth(e *gin.Engine, checks ...Check) {
	e.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	e.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
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
		status, word := http.StatusOK, "ready"
		for _, r := range results {
			if !r.OK {
				status, word = http.StatusServiceUnavailable, "not ready"
			}
		}
		c.JSON(status, gin.H{"status": word, "checks": results})
	})
}
