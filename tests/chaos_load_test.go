package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// chaosProviderKey is a test-mode key the simulator accepts (components/secrets/local.json).
const chaosProviderKey = "sk_test_orderflow_local_only"

// chaosOrder is one customer request and everything its client saw.
type chaosOrder struct {
	key    string // Idempotency-Key, sent with every attempt
	client int
	token  string
	items  []chaosItem
	body   []byte
	// id is the order the last successful answer named; ids every distinct one any answer named (more than one
	// means the key did not protect the customer).
	id       string
	ids      []string
	attempts []chaosAttempt
	// cancelAfter > 0: the customer asks to cancel this long after placing; cancelStatus is the final answer.
	cancelAfter  time.Duration
	cancelStatus int
}

type chaosItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// chaosAttempt is one POST: its answer (status 0: no answer — timeout or dropped connection) and when.
type chaosAttempt struct {
	start, end time.Time
	status     int
	err        error
}

var chaosHTTP = &http.Client{Timeout: 10 * time.Second}

// chaosDo sends one request without failing the test: under fault injection errors are expected, and the
// callers run outside the test goroutine.
func chaosDo(method, url string, body []byte, headers map[string]string, timeout time.Duration) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := chaosHTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func chaosPostJSON(url string, v any, headers map[string]string, timeout time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, _, err = chaosDo(http.MethodPost, url, raw, headers, timeout)
	return err
}

// chaosGetJSON reads url into v; found is false on 404.
func chaosGetJSON(url string, headers map[string]string, v any) (found bool, err error) {
	status, raw, err := chaosDo(http.MethodGet, url, nil, headers, 10*time.Second)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusNotFound:
		return false, nil
	case status != http.StatusOK:
		return false, fmt.Errorf("GET %s: %d %s", url, status, raw)
	}
	return true, json.Unmarshal(raw, v)
}

// placeOrders runs the clients against orders at ordersURL until every order is placed (or its client gave
// up), and every cancellation asked.
func (r *chaosRun) placeOrders(ctx context.Context, ordersURL string, start time.Time) {
	cfg := r.cfg
	r.orders = make([]*chaosOrder, cfg.orders)
	for i := range r.orders {
		r.orders[i] = r.newOrder(rand.New(rand.NewPCG(cfg.seed, uint64(i))), i)
	}
	ordersURL += "/v1/orders"
	// Order i is due at start + i·spacing, so the load covers the fault phase evenly.
	spacing := cfg.faultPhase / time.Duration(cfg.orders)
	var clients, cancels sync.WaitGroup
	for c := 0; c < cfg.clients; c++ {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := c; i < cfg.orders; i += cfg.clients {
				if !chaosSleepUntil(ctx, start.Add(time.Duration(i)*spacing)) {
					return
				}
				o := r.orders[i]
				auth := r.customers[chaosCustomer(c)]
				o.place(ctx, ordersURL, auth)
				if o.cancelAfter > 0 && o.id != "" {
					cancels.Add(1)
					go func() {
						defer cancels.Done()
						o.cancel(ctx, ordersURL, auth)
					}()
				}
			}
		}()
	}
	clients.Wait()
	cancels.Wait()
}

// newOrder draws one customer request: mostly one or two lines of stocked SKUs, a tenth for the SKU that
// sells out, the card token from the configured mix, and about one in eight cancelled at a random moment.
func (r *chaosRun) newOrder(rng *rand.Rand, i int) *chaosOrder {
	client := i % r.cfg.clients
	o := &chaosOrder{key: fmt.Sprintf("chaos-%d-%d", r.cfg.seed, i), client: client, token: chaosPick(rng, r.cfg.tokens)}
	switch n := rng.IntN(10); {
	case n == 0:
		o.items = []chaosItem{{"CHAOS-SCARCE", 1 + rng.IntN(2)}}
		if rng.IntN(2) == 0 {
			o.items = append(o.items, chaosItem{"CHAOS-A", 1})
		}
	case n <= 2:
		o.items = []chaosItem{{"CHAOS-A", 1 + rng.IntN(3)}, {"CHAOS-B", 1 + rng.IntN(2)}}
	default:
		o.items = []chaosItem{{[]string{"CHAOS-A", "CHAOS-B"}[rng.IntN(2)], 1 + rng.IntN(3)}}
	}
	// Within 1.5 s of placing: while an order is still in flight (a slow approval takes longer), so
	// cancellations race reservation, payment and dispatch rather than mostly arriving too late.
	if rng.IntN(8) == 0 {
		o.cancelAfter = time.Duration(1+rng.IntN(1500)) * time.Millisecond
	}
	o.body, _ = json.Marshal(map[string]any{ // maps of strings and ints always marshal
		"customerId": chaosCustomer(client), "email": fmt.Sprintf("chaos-%d@example.com", client),
		"items": o.items, "payment": map[string]string{"cardToken": o.token},
	})
	return o
}

func chaosCustomer(client int) string { return fmt.Sprintf("chaos-c%d", client) }

func chaosPick(rng *rand.Rand, tokens []chaosToken) string {
	total := 0
	for _, t := range tokens {
		total += t.weight
	}
	n := rng.IntN(total)
	for _, t := range tokens {
		if n < t.weight {
			return t.token
		}
		n -= t.weight
	}
	return tokens[len(tokens)-1].token
}

// chaosPlaceBudget bounds how long a client keeps retrying one order: longer than a crash-looping pod's
// back-off, shorter than the quiet wait.
const chaosPlaceBudget = 90 * time.Second

// place POSTs the order until an answer names it, retrying with the same Idempotency-Key and body after a
// 5xx, a timeout or a dropped connection — what a careful client does when it cannot tell whether the first
// request took effect.
// auth is the Authorization header of the order's customer.
func (o *chaosOrder) place(ctx context.Context, url string, auth map[string]string) {
	deadline := time.Now().Add(chaosPlaceBudget)
	backoff := 100 * time.Millisecond
	headers := maps.Clone(auth)
	headers["Idempotency-Key"] = o.key
	for {
		a := chaosAttempt{start: time.Now()}
		status, raw, err := chaosDo(http.MethodPost, url, o.body, headers, 10*time.Second)
		a.end, a.status, a.err = time.Now(), status, err
		o.attempts = append(o.attempts, a)
		if err == nil && (status == http.StatusCreated || status == http.StatusAccepted || status == http.StatusOK) {
			var v struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &v) == nil && v.ID != "" {
				o.id = v.ID
				if !slices.Contains(o.ids, v.ID) {
					o.ids = append(o.ids, v.ID)
				}
				return
			}
		}
		if err == nil && status/100 == 4 {
			return // the request itself is refused (a 409 on the key would be a bug the checks report)
		}
		if time.Now().Add(backoff).After(deadline) || !chaosSleepUntil(ctx, time.Now().Add(backoff)) {
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// cancel asks to cancel the order after its delay. 202 (accepted) and 409 (it ended first) are answers; a
// 404 (announced, not stored yet), a 5xx or no answer is retried.
func (o *chaosOrder) cancel(ctx context.Context, ordersURL string, auth map[string]string) {
	if !chaosSleepUntil(ctx, time.Now().Add(o.cancelAfter)) {
		return
	}
	deadline := time.Now().Add(chaosPlaceBudget)
	for {
		status, _, err := chaosDo(http.MethodPost, ordersURL+"/"+o.id+"/cancel", nil, auth, 10*time.Second)
		o.cancelStatus = status
		if err == nil && (status == http.StatusAccepted || status == http.StatusConflict) {
			return
		}
		if time.Now().After(deadline) || !chaosSleepUntil(ctx, time.Now().Add(250*time.Millisecond)) {
			return
		}
	}
}

// chaosSleepUntil waits until at, or reports false if ctx ended first.
func chaosSleepUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// chaosProviderCharge reads the simulator's ledger entry for an idempotency key (the order id, for orders).
func chaosProviderCharge(cardsim, key string) (chaosCharge, bool, error) {
	var c chaosCharge
	found, err := chaosGetJSON(cardsim+"/v1/charges/"+key, map[string]string{"Authorization": "Bearer " + chaosProviderKey}, &c)
	return c, found, err
}
