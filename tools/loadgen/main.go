// Command loadgen plays virtual customers against a running orderflow (`make run`): it places orders open-loop
// at a target rate or closed-loop as fast as the system answers, follows each to its terminal status, and
// prints a summary (and, with -json, a JSON report). `make bench` uses the same generator (internal/loadgen).
// Each virtual customer calls orders with a token for its own customer id, from the development issuer that
// `make run` starts (-issuer).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"orderflow/internal/devtoken"
	"orderflow/internal/loadgen"
	"orderflow/internal/platform/service"
)

func main() { service.Main("loadgen", run) }

func run(ctx context.Context) error {
	orders := flag.String("orders-url", "http://127.0.0.1:8080", "the orders API")
	inventory := flag.String("inventory-url", "http://127.0.0.1:8081", "the inventory API (to list SKUs)")
	n := flag.Int("n", 500, "orders to place")
	rate := flag.Float64("rate", 0, "orders per second (open loop); 0 runs closed loop")
	concurrency := flag.Int("concurrency", 32, "concurrent customers (closed loop), or the cap on orders in flight (open loop)")
	soldOut := flag.String("sold-out-sku", "", "a SKU with no stock, ordered 3% of the time (empty: none)")
	jsonOut := flag.String("json", "", "write the report to this file")
	issuer := flag.String("issuer", devtoken.DefaultIssuer, "the development issuer make run starts: each virtual customer gets a token from it")
	flag.Parse()

	skus, err := listSKUs(ctx, *inventory)
	if err != nil {
		return err
	}
	tokens := &devtoken.Source{Issuer: *issuer}
	mix := loadgen.DefaultMix(skus, *soldOut)
	if *soldOut == "" {
		mix.OutOfStockRatio = 0
	}
	res, err := loadgen.Run(ctx, loadgen.Config{
		OrdersURL: *orders, Orders: *n, Rate: *rate, Concurrency: *concurrency, Mix: mix,
		Progress: os.Stdout, Seed: uint64(time.Now().UnixNano()), RunID: fmt.Sprintf("%x", time.Now().Unix()),
		Token: func(ctx context.Context, customer string) (string, error) { return tokens.Token(ctx, customer) },
	})
	if err != nil {
		return err
	}
	printSummary(res)
	if *jsonOut != "" {
		raw, _ := json.MarshalIndent(res, "", "  ")
		return os.WriteFile(*jsonOut, raw, 0o644)
	}
	return nil
}

func listSKUs(ctx context.Context, inventory string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inventory+"/v1/products", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("listing products (is orderflow running? `make run`): %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Products []struct {
			SKU       string `json:"sku"`
			Available int    `json:"available"`
		} `json:"products"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var skus []string
	for _, p := range body.Products {
		if p.Available > 0 {
			skus = append(skus, p.SKU)
		}
	}
	if len(skus) == 0 {
		return nil, fmt.Errorf("no product in stock at %s", inventory)
	}
	return skus, nil
}

func printSummary(r loadgen.Result) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	fmt.Printf("%s: %d placed (%d errors), %d completed, %d stuck in %.1fs → %.1f orders/s\n",
		r.Mode, r.Placed, r.PlaceErrors, r.Completed, r.Stuck, r.WindowSeconds, r.OrdersPerSec)
	keys := slices.Sorted(maps.Keys(r.Outcomes))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Outcomes[k]))
	}
	fmt.Println("outcomes:", strings.Join(parts, ", "))
	fmt.Printf("placed→terminal p50 %s  p90 %s  p99 %s  max %s\n", ms(r.ToTerminal.P50), ms(r.ToTerminal.P90), ms(r.ToTerminal.P99), ms(r.ToTerminal.Max))
	fmt.Printf("placed→SHIPPED  p50 %s  p90 %s  p99 %s  max %s\n", ms(r.ToShipped.P50), ms(r.ToShipped.P90), ms(r.ToShipped.P99), ms(r.ToShipped.Max))
	for _, e := range r.Errors {
		fmt.Println("error:", e)
	}
}
