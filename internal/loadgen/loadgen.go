// Package loadgen drives orderflow like a crowd of customers: it places orders through the public API —
// open-loop at a target rate, or closed-loop as fast as the system answers — with a configurable mix of SKUs,
// quantities and card tokens (some declines, some out-of-stock), then follows every order to its terminal
// status and reports throughput, outcomes and latency.
//
// Latency is measured from the order's own history (server timestamps: placed → terminal), so how often the
// generator looks does not distort it, and the generator only polls a sample while the load runs.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Terminal statuses of an order.
var Terminal = []string{"SHIPPED", "REJECTED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED"}

// Weighted is a choice with a relative weight.
type Weighted struct {
	Value  string
	Weight float64
}

// Mix describes what the virtual customers order.
type Mix struct {
	// SKUs in stock, chosen uniformly; OutOfStock is a SKU with no stock, chosen with OutOfStockRatio.
	SKUs            []string
	OutOfStock      string
	OutOfStockRatio float64
	// Tokens are card tokens with weights (see apps/cardsim for their meaning).
	Tokens []Weighted
	// MaxQuantity bounds each line's quantity (1..MaxQuantity); MaxLines bounds lines per order.
	MaxQuantity int
	MaxLines    int
	Customers   int
}

// DefaultMix is 90% approved cards, 5% declined, 5% insufficient funds, 3% out-of-stock orders.
func DefaultMix(skus []string, outOfStock string) Mix {
	return Mix{
		SKUs: skus, OutOfStock: outOfStock, OutOfStockRatio: 0.03,
		Tokens:      []Weighted{{"tok_visa", 90}, {"tok_declined", 5}, {"tok_insufficient_funds", 5}},
		MaxQuantity: 3, MaxLines: 2, Customers: 64,
	}
}

// Config is one load run.
type Config struct {
	OrdersURL string
	Orders    int
	// Rate > 0 runs open-loop at Rate orders/s; otherwise closed-loop with Concurrency workers.
	Rate        float64
	Concurrency int
	Mix         Mix
	// Settle bounds how long orders may take to end after the last one was placed.
	Settle   time.Duration
	Progress io.Writer
	Seed     uint64
	// RunID makes customer ids unique per run.
	RunID string
	// Token returns the bearer token a customer calls orders with (orders takes the customer from it); nil
	// sends none. Run gets every customer's before the load, so minting is not part of what it measures.
	Token func(ctx context.Context, customer string) (string, error)
}

// Percentiles summarises a latency distribution.
type Percentiles struct {
	P50, P90, P99, Max time.Duration
}

// MarshalJSON renders durations in milliseconds.
func (p Percentiles) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return json.Marshal(map[string]float64{"p50Ms": ms(p.P50), "p90Ms": ms(p.P90), "p99Ms": ms(p.P99), "maxMs": ms(p.Max)})
}

// Result is what a run measured.
type Result struct {
	Mode          string         `json:"mode"`
	TargetRate    float64        `json:"targetRate,omitempty"`
	Placed        int            `json:"placed"`
	PlaceErrors   int            `json:"placeErrors"`
	Completed     int            `json:"completed"`
	Stuck         int            `json:"stuck"`
	Outcomes      map[string]int `json:"outcomes"`
	Window        time.Duration  `json:"-"`
	WindowSeconds float64        `json:"windowSeconds"`
	OrdersPerSec  float64        `json:"ordersPerSecond"`
	PlacedPerSec  float64        `json:"placedPerSecond"`
	ToTerminal    Percentiles    `json:"placedToTerminal"`
	ToShipped     Percentiles    `json:"placedToShipped"`
	Submit        Percentiles    `json:"submit"`
	// Stages breaks placed→terminal down by the status each step reached (RESERVED, PAID, SHIPPED, …).
	Stages         map[string]Percentiles `json:"stages"`
	Errors         []string               `json:"errors,omitempty"`
	ShippedSamples []time.Duration        `json:"-"`
	// Start and End bound the window on the server's clock: first placement to last terminal status.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

type placed struct {
	id       string
	customer string
	submit   time.Duration
}

type orderView struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	History []struct {
		Status string    `json:"status"`
		At     time.Time `json:"at"`
	} `json:"history"`
}

// Run places cfg.Orders orders and follows them to the end.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Orders <= 0 || len(cfg.Mix.SKUs) == 0 || len(cfg.Mix.Tokens) == 0 {
		return Result{}, errors.New("loadgen: need Orders > 0, some SKUs and some card tokens")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Minute
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency * 2, MaxConnsPerHost: cfg.Concurrency * 2}}
	g := &generator{cfg: cfg, client: client, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), tokens: map[string]string{}}
	if cfg.Token != nil {
		for n := range max(1, cfg.Mix.Customers) {
			customer := g.customer(n)
			tok, err := cfg.Token(ctx, customer)
			if err != nil {
				return Result{}, fmt.Errorf("loadgen: a token for %s: %w", customer, err)
			}
			g.tokens[customer] = tok
		}
	}

	res := Result{Mode: "closed-loop", Outcomes: map[string]int{}}
	if cfg.Rate > 0 {
		res.Mode, res.TargetRate = "open-loop", cfg.Rate
	}
	stopProgress := g.progress(ctx)
	began := time.Now()
	orders, errs := g.place(ctx)
	placingTook := time.Since(began)
	final := g.await(ctx, orders)
	stopProgress()

	res.Placed, res.PlaceErrors = len(orders), len(errs)
	res.PlacedPerSec = float64(len(orders)) / placingTook.Seconds()
	for i, e := range errs {
		if i == 10 {
			res.Errors = append(res.Errors, fmt.Sprintf("… and %d more", len(errs)-10))
			break
		}
		res.Errors = append(res.Errors, e.Error())
	}
	var toTerminal, toShipped, submit []time.Duration
	stages := map[string][]time.Duration{}
	for _, p := range orders {
		submit = append(submit, p.submit)
		o, ok := final[p.id]
		if !ok || !slices.Contains(Terminal, o.Status) || len(o.History) == 0 {
			res.Stuck++
			continue
		}
		res.Completed++
		res.Outcomes[o.Status]++
		for i := 1; i < len(o.History); i++ {
			stages[o.History[i].Status] = append(stages[o.History[i].Status], o.History[i].At.Sub(o.History[i-1].At))
		}
		first, last := o.History[0].At, o.History[len(o.History)-1].At
		if res.Start.IsZero() || first.Before(res.Start) {
			res.Start = first
		}
		if last.After(res.End) {
			res.End = last
		}
		d := last.Sub(first)
		toTerminal = append(toTerminal, d)
		if o.Status == "SHIPPED" {
			toShipped = append(toShipped, d)
		}
	}
	res.Window = res.End.Sub(res.Start)
	res.WindowSeconds = res.Window.Seconds()
	if res.Window > 0 {
		res.OrdersPerSec = float64(res.Completed) / res.Window.Seconds()
	}
	res.ToTerminal, res.ToShipped, res.Submit = percentiles(toTerminal), percentiles(toShipped), percentiles(submit)
	res.ShippedSamples = toShipped
	res.Stages = map[string]Percentiles{}
	for st, ds := range stages {
		res.Stages[st] = percentiles(ds)
	}
	return res, nil
}

type generator struct {
	cfg    Config
	client *http.Client
	// tokens are the customers' bearer tokens (none without Config.Token); read-only once the load starts.
	tokens map[string]string
	mu     sync.Mutex
	rng    *rand.Rand
	// progress counters
	nPlaced, nErrors, nDone atomic.Int64
}

func (g *generator) body(i int) (string, []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.cfg.Mix
	customer := g.customer(g.rng.IntN(max(1, m.Customers)))
	lines := 1 + g.rng.IntN(max(1, m.MaxLines))
	type item struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	var items []item
	used := map[string]bool{}
	for len(items) < lines {
		sku := m.SKUs[g.rng.IntN(len(m.SKUs))]
		if m.OutOfStock != "" && g.rng.Float64() < m.OutOfStockRatio/float64(lines) {
			sku = m.OutOfStock
		}
		if used[sku] {
			if len(used) >= len(m.SKUs) {
				break
			}
			continue
		}
		used[sku] = true
		items = append(items, item{SKU: sku, Quantity: 1 + g.rng.IntN(max(1, m.MaxQuantity))})
	}
	body, _ := json.Marshal(map[string]any{
		"customerId": customer, "email": fmt.Sprintf("customer%d@example.com", i%1000), "items": items,
		"payment": map[string]string{"cardToken": weighted(g.rng, m.Tokens)},
	})
	return customer, body
}

// customer is the id of the run's n-th customer.
func (g *generator) customer(n int) string { return fmt.Sprintf("lg-%s-%d", g.cfg.RunID, n) }

// authorize sends the customer's token with req, if the run has tokens.
func (g *generator) authorize(req *http.Request, customer string) {
	if tok := g.tokens[customer]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
}

func weighted(rng *rand.Rand, choices []Weighted) string {
	var total float64
	for _, c := range choices {
		total += c.Weight
	}
	x := rng.Float64() * total
	for _, c := range choices {
		if x < c.Weight {
			return c.Value
		}
		x -= c.Weight
	}
	return choices[len(choices)-1].Value
}

// place submits every order, open- or closed-loop, and returns those the API accepted.
func (g *generator) place(ctx context.Context) ([]placed, []error) {
	var (
		mu     sync.Mutex
		orders []placed
		errs   []error
		wg     sync.WaitGroup
	)
	submit := func(i int) {
		customer, body := g.body(i)
		start := time.Now()
		id, err := g.post(ctx, customer, body)
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			g.nErrors.Add(1)
			return
		}
		orders = append(orders, placed{id: id, customer: customer, submit: took})
		g.nPlaced.Add(1)
	}
	slots := make(chan struct{}, g.cfg.Concurrency)
	if g.cfg.Rate > 0 {
		interval := time.Duration(float64(time.Second) / g.cfg.Rate)
		next := time.Now()
		for i := 0; i < g.cfg.Orders && ctx.Err() == nil; i++ {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(interval)
			select {
			case slots <- struct{}{}:
			default:
				// The system is slower than the target rate and every slot is busy: record the miss
				// rather than silently lowering the rate.
				mu.Lock()
				errs = append(errs, errors.New("open-loop: no free slot at the scheduled time (system behind the target rate)"))
				mu.Unlock()
				g.nErrors.Add(1)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				submit(i)
			}()
		}
	} else {
		var next atomic.Int64
		for w := 0; w < g.cfg.Concurrency; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					i := int(next.Add(1)) - 1
					if i >= g.cfg.Orders {
						return
					}
					submit(i)
				}
			}()
		}
	}
	wg.Wait()
	return orders, errs
}

func (g *generator) post(ctx context.Context, customer string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.OrdersURL+"/v1/orders", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	g.authorize(req, customer)
	resp, err := g.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// 201 stored, 202 announced but stored a moment later (GET answers 404 until then, which await treats as
	// not finished yet), 200 an Idempotency-Key replay: each is a placed order.
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /v1/orders: %s %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	var o orderView
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", err
	}
	return o.ID, nil
}

// await follows every order until it is terminal or Settle has passed since the last placement. Orders end
// roughly in the order they were placed, so each round checks the oldest first and stops at a run of
// unfinished ones: the generator's own reads must not become a load on the system it measures.
func (g *generator) await(ctx context.Context, orders []placed) map[string]orderView {
	const unfinishedRun = 32
	final := make(map[string]orderView, len(orders))
	pending := slices.Clone(orders)
	deadline := time.Now().Add(g.cfg.Settle)
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		var still []placed
		run := 0
		for i, p := range pending {
			if run >= unfinishedRun {
				still = append(still, pending[i:]...)
				break
			}
			o, err := g.get(ctx, p)
			if err == nil && slices.Contains(Terminal, o.Status) {
				final[p.id] = o
				g.nDone.Add(1)
				run = 0
				continue
			}
			still = append(still, p)
			run++
		}
		pending = still
		if len(pending) > 0 {
			time.Sleep(250 * time.Millisecond)
		}
	}
	for _, p := range pending {
		if o, err := g.get(ctx, p); err == nil {
			final[p.id] = o
		}
	}
	return final
}

// get reads a placed order as its customer: orders shows an order to its customer only.
func (g *generator) get(ctx context.Context, p placed) (orderView, error) {
	id := p.id
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.cfg.OrdersURL+"/v1/orders/"+id, nil)
	if err != nil {
		return orderView{}, err
	}
	g.authorize(req, p.customer)
	resp, err := g.client.Do(req)
	if err != nil {
		return orderView{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return orderView{}, fmt.Errorf("GET order %s: %s", id, resp.Status)
	}
	var o orderView
	return o, json.NewDecoder(resp.Body).Decode(&o)
}

// progress prints a live line every second until stopped.
func (g *generator) progress(ctx context.Context) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var last int64
		for {
			select {
			case <-done:
				fmt.Fprintln(g.cfg.Progress)
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p := g.nPlaced.Load()
				fmt.Fprintf(g.cfg.Progress, "\r  %5.0fs  placed %6d (%4d/s)  settled %6d  errors %d   ",
					time.Since(start).Seconds(), p, p-last, g.nDone.Load(), g.nErrors.Load())
				last = p
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}
