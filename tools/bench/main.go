// Command bench is `make bench`: in one run on this machine it measures
//
//	(a) the bare Dapr ceiling — one publisher app → its sidecar → Redis Streams → a second sidecar → a counting
//	    app, 32 concurrent publishers, with the very pub/sub component the services use;
//	(b) the saga at its maximum sustainable throughput (closed loop, a fixed number of orders), with the event
//	    deliveries per second all sidecars made and their ratio to (a);
//	(c) latency at half of (b)'s rate (open loop): placed → terminal and placed → SHIPPED percentiles;
//
// plus CPU seconds and peak RSS of every app and sidecar from /proc. It prints a table and writes a JSON report
// and a latency chart (SVG) under results/. Everything runs isolated (unique app ids and topics) and is stopped
// and cleaned up at the end.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"orderflow/internal/devtoken"
	"orderflow/internal/launcher"
	"orderflow/internal/loadgen"
	"orderflow/internal/platform/service"
)

type options struct {
	daprd, out, runFile    string
	orders, concurrency    int
	ceilingFor, latencyFor time.Duration
	publishers             int
	// Knobs for experiments; the defaults are what the project ships.
	logLevel, sidecarGOGC, daprConfig, appProtocol string
}

func main() { service.Main("bench", run) }

func run(ctx context.Context) error {
	var o options
	flag.StringVar(&o.daprd, "daprd", os.Getenv("DAPRD"), "daprd binary (make bench passes the provisioned one)")
	flag.StringVar(&o.out, "out", "results", "where the report and chart go")
	flag.StringVar(&o.runFile, "f", "dapr.yaml", "Dapr multi-app run template")
	flag.IntVar(&o.orders, "orders", 3000, "orders in the maximum-throughput phase")
	flag.IntVar(&o.concurrency, "concurrency", 48, "concurrent customers in the maximum-throughput phase")
	flag.IntVar(&o.publishers, "publishers", 32, "concurrent publishers in the ceiling phase")
	flag.DurationVar(&o.ceilingFor, "ceiling-for", 15*time.Second, "length of the ceiling phase")
	flag.DurationVar(&o.latencyFor, "latency-for", 30*time.Second, "length of the half-rate latency phase")
	flag.StringVar(&o.logLevel, "log-level", "warn", "the apps' LOG_LEVEL during the benchmark")
	flag.StringVar(&o.sidecarGOGC, "sidecar-gogc", "", "GOGC for the sidecars (empty: Go's default)")
	flag.StringVar(&o.appProtocol, "app-protocol", "", "the saga sidecars' app protocol: http or h2c (empty: dapr.yaml's)")
	flag.StringVar(&o.daprConfig, "dapr-config", "", "a Dapr Configuration file to run the saga's sidecars with instead of dapr.yaml's")
	flag.Parse()
	if o.daprd == "" {
		return errors.New("no daprd: run `make bench`, or pass -daprd")
	}
	began := time.Now()
	specs, err := launcher.Load(o.runFile)
	if err != nil {
		return err
	}
	if err := launcher.Preflight(specs); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "orderflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	binDir := filepath.Join(tmp, "bin")
	fmt.Println("building the apps…")
	var pkgs []string
	for _, s := range specs {
		if pkg, ok := launcher.GoRunPackage(s.Command); ok {
			pkgs = append(pkgs, pkg)
		}
	}
	if err := launcher.Build(ctx, specs[0].Dir, binDir, pkgs); err != nil {
		return err
	}

	rep := report{Machine: machine(), Started: began}
	fmt.Printf("(a) bare Dapr ceiling: %d publishers for %s…\n", o.publishers, o.ceilingFor)
	rep.Ceiling, err = measureCeiling(ctx, specs, o, tmp)
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	fmt.Printf("    %.0f publishes/s, %.0f deliveries/s\n", rep.Ceiling.PublishesPerSec, rep.Ceiling.DeliveriesPerSec)

	sys, prefix, cleanup, issuer, err := startSaga(ctx, specs, o, binDir, tmp)
	if err != nil {
		return err
	}
	defer cleanup()
	orders := sys.App("orders").URL()
	admin, err := issuer.Token(ctx, "bench", "admin")
	if err != nil {
		return err
	}
	skus, err := stockBench(ctx, sys.App("inventory").URL(), admin)
	if err != nil {
		return err
	}
	mix := loadgen.DefaultMix(skus, "BENCH-SOLDOUT")

	fmt.Printf("(b) saga at maximum throughput: %d orders, %d concurrent customers…\n", o.orders, o.concurrency)
	before, err := deliveries(ctx, prefix)
	if err != nil {
		return err
	}
	usageBefore, redisBefore, selfBefore := usage(sys), redisCPU(ctx), selfCPU()
	rep.Max, err = loadgen.Run(ctx, loadgen.Config{OrdersURL: orders, Orders: o.orders, Concurrency: o.concurrency,
		Mix: mix, Progress: os.Stdout, Seed: 1, RunID: "max", Token: customerToken(issuer)})
	if err != nil {
		return err
	}
	after, err := deliveries(ctx, prefix)
	if err != nil {
		return err
	}
	rep.Usage = diffUsage(usageBefore, usage(sys))
	rep.RedisCPU, rep.LoadgenCPU = redisCPU(ctx)-redisBefore, selfCPU()-selfBefore
	if rep.Max.Completed > 0 {
		total := rep.RedisCPU
		for _, u := range rep.Usage {
			total += u.App.CPUSeconds + u.Sidecar.CPUSeconds
		}
		rep.CPUPerOrderMs = 1000 * total / float64(rep.Max.Completed)
	}
	rep.SagaDeliveries = after - before
	if rep.Max.WindowSeconds > 0 {
		rep.SagaDeliveriesPerSec = rep.SagaDeliveries / rep.Max.WindowSeconds
	}
	rep.RatioToCeiling = rep.SagaDeliveriesPerSec / rep.Ceiling.DeliveriesPerSec
	fmt.Printf("    %.1f orders/s, %.0f deliveries/s (%.0f%% of the ceiling)\n", rep.Max.OrdersPerSec, rep.SagaDeliveriesPerSec, 100*rep.RatioToCeiling)

	half := rep.Max.OrdersPerSec / 2
	n := int(half * o.latencyFor.Seconds())
	fmt.Printf("(c) latency at half rate: %.1f orders/s for %s (%d orders)…\n", half, o.latencyFor, n)
	rep.Half, err = loadgen.Run(ctx, loadgen.Config{OrdersURL: orders, Orders: max(n, 1), Rate: half, Concurrency: 256,
		Mix: mix, Progress: os.Stdout, Seed: 2, RunID: "half", Token: customerToken(issuer)})
	if err != nil {
		return err
	}
	rep.Peak = peaks(sys)
	rep.Finished = time.Now()
	rep.Targets = checkTargets(rep)

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	stamp := began.UTC().Format("20060102-150405")
	jsonPath := filepath.Join(o.out, "bench-"+stamp+".json")
	chartPath := filepath.Join(o.out, "latency-"+stamp+".svg")
	raw, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(jsonPath, raw, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(chartPath, []byte(latencyChart(rep.Half.ShippedSamples, rep.Max.ShippedSamples)), 0o644); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(rep.table())
	fmt.Printf("\nreport: %s\nchart:  %s\ntook %s\n", jsonPath, chartPath, time.Since(began).Round(time.Second))
	if failed := rep.Targets.failed(); len(failed) > 0 {
		fmt.Printf("targets missed: %s\n", strings.Join(failed, "; "))
	}
	return nil
}

// startSaga runs every app of the run file, isolated from anything else on the broker and store.
// startSaga starts the run file's apps isolated, and returns them with their topic prefix, a cleanup and a
// source of tokens from the run's development issuer.
func startSaga(ctx context.Context, specs []launcher.Spec, o options, binDir, tmp string) (*launcher.System, string, func(), *devtoken.Source, error) {
	suffix := randomHex(4)
	iso := &launcher.Isolation{
		Suffix: "bench" + suffix, TopicPrefix: "bench" + suffix + ".", Dir: filepath.Join(tmp, "saga"),
		Overrides: map[string]map[string]string{
			"email":           {"rootPath": filepath.Join(tmp, "mail")},
			"shipping-labels": {"rootPath": filepath.Join(tmp, "labels")},
		},
	}
	simPort, err := launcher.FreePort()
	if err != nil {
		return nil, "", nil, nil, err
	}
	iso.Overrides["card-provider"] = map[string]string{"url": fmt.Sprintf("http://127.0.0.1:%d", simPort)}
	// The services trust this run's development issuer, which names itself after its port.
	issuerPort, err := launcher.FreePort()
	if err != nil {
		return nil, "", nil, nil, err
	}
	issuer := fmt.Sprintf("http://127.0.0.1:%d", issuerPort)
	env := map[string]map[string]string{}
	for _, s := range specs {
		env[s.ID] = map[string]string{"LOG_LEVEL": o.logLevel, "GOGC": "", "AUTH_ISSUER": issuer}
		if o.daprConfig != "" {
			specs[i(specs, s.ID)].ConfigFile = o.daprConfig
		}
		if o.appProtocol != "" {
			specs[i(specs, s.ID)].Protocol = o.appProtocol
		}
	}
	env["inventory"]["SEED_CATALOG"] = "false"
	base := tokens()
	if o.sidecarGOGC != "" {
		base = append(base, "GOGC="+o.sidecarGOGC) // the apps' env resets it (GOGC= means the default)
	}
	fmt.Println("starting the saga (isolated app ids and topics)…")
	sys, err := launcher.Start(ctx, specs, launcher.Options{
		Daprd: o.daprd, BinDir: binDir, Prebuilt: true, LogDir: filepath.Join(tmp, "logs"), Console: discard{},
		Isolation: iso, FreePorts: true, AppPorts: map[string]int{"cardsim": simPort, "devissuer": issuerPort}, AppEnv: env,
		BaseEnv: base, ReadyTimeout: 90 * time.Second,
	})
	if err != nil {
		return nil, "", nil, nil, err
	}
	return sys, iso.TopicPrefix, func() {
		fmt.Println("stopping the saga…")
		sys.Stop()
		cleanRedis(iso.Suffix, iso.TopicPrefix)
	}, &devtoken.Source{Issuer: issuer}, nil
}

func i(specs []launcher.Spec, id string) int {
	for n, s := range specs {
		if s.ID == id {
			return n
		}
	}
	return -1
}

// customerToken gives each virtual customer a token of its own from the run's issuer.
func customerToken(issuer *devtoken.Source) func(ctx context.Context, customer string) (string, error) {
	return func(ctx context.Context, customer string) (string, error) { return issuer.Token(ctx, customer) }
}

// stockBench creates the SKUs the load uses, with stock no run can exhaust, and one sold-out SKU, as the
// operator whose bearer token is admin.
func stockBench(ctx context.Context, inventory, admin string) ([]string, error) {
	var skus []string
	for i := 1; i <= 40; i++ {
		skus = append(skus, fmt.Sprintf("BENCH-%02d", i))
	}
	for _, sku := range append(skus, "BENCH-SOLDOUT") {
		available := 10_000_000
		if sku == "BENCH-SOLDOUT" {
			available = 0
		}
		body := fmt.Sprintf(`{"name":"Bench item %s","priceCents":%d,"available":%d}`, sku, 100+len(sku)*7, available)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, inventory+"/v1/products/"+sku, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("stocking %s: %s", sku, resp.Status)
		}
	}
	return skus, nil
}

func tokens() []string {
	return append(os.Environ(), "DAPR_API_TOKEN="+randomHex(16), "APP_API_TOKEN="+randomHex(16))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
