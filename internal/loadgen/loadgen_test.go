package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPercentiles(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	assert.Equal(t, Percentiles{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, p)
	assert.Equal(t, Percentiles{}, percentiles(nil))
}

func TestWeightedFollowsTheWeights(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for i := 0; i < 10000; i++ {
		counts[weighted(rng, []Weighted{{"a", 90}, {"b", 10}})]++
	}
	assert.InDelta(t, 9000, counts["a"], 300)
	assert.InDelta(t, 1000, counts["b"], 300)
}

// fakeOrders is an orders API whose orders are SHIPPED once fetched a second time. It takes "Bearer
// token-<customer>" as that customer's token, and shows an order to its customer only.
type fakeOrders struct {
	mu     sync.Mutex
	seen   map[string]int
	owner  map[string]string
	next   atomic.Int64
	bodies []map[string]any
}

func (f *fakeOrders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	caller, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer token-")
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodPost:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["customerId"] != caller {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		f.bodies = append(f.bodies, body)
		id := fmt.Sprintf("o-%d", f.next.Add(1))
		f.owner[id] = caller
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "status": "PENDING"})
	default:
		id := strings.TrimPrefix(r.URL.Path, "/v1/orders/")
		if f.owner[id] != caller {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		f.seen[id]++
		status := "PENDING"
		if f.seen[id] > 1 {
			status = "SHIPPED"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "status": status, "history": []map[string]any{
			{"status": "PENDING", "at": now.Add(-20 * time.Millisecond)}, {"status": status, "at": now},
		}})
	}
}

func TestRunPlacesAndFollowsOrders(t *testing.T) {
	t.Parallel()
	// The open loop records a miss when every slot is busy at a scheduled time; the test gives it as many
	// slots as orders so that a slow, loaded machine (or -race) cannot turn a placement into a miss.
	tests := []struct {
		name        string
		rate        float64
		concurrency int
		mode        string
	}{
		{"closed loop", 0, 8, "closed-loop"},
		{"open loop", 200, 40, "open-loop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := &fakeOrders{seen: map[string]int{}, owner: map[string]string{}}
			srv := httptest.NewServer(api)
			defer srv.Close()
			res, err := Run(context.Background(), Config{
				OrdersURL: srv.URL, Orders: 40, Rate: tc.rate, Concurrency: tc.concurrency, Seed: 3, RunID: "t",
				Mix:   DefaultMix([]string{"A", "B", "C"}, "SOLDOUT"),
				Token: func(_ context.Context, customer string) (string, error) { return "token-" + customer, nil },
			})
			require.NoError(t, err)
			assert.Equal(t, tc.mode, res.Mode)
			assert.Equal(t, 40, res.Placed)
			assert.Equal(t, 40, res.Completed)
			assert.Zero(t, res.Stuck)
			assert.Equal(t, map[string]int{"SHIPPED": 40}, res.Outcomes)
			assert.Equal(t, 20*time.Millisecond, res.ToShipped.P50, "latency comes from the order's own history")
			for _, b := range api.bodies {
				items := b["items"].([]any)
				assert.NotEmpty(t, items)
				assert.Contains(t, []string{"tok_visa", "tok_declined", "tok_insufficient_funds"}, b["payment"].(map[string]any)["cardToken"])
			}
		})
	}
}
