// Command run is `make run` for machines without the Dapr CLI: it starts every app in dapr.yaml with its own
// daprd sidecar, exactly as `dapr run -f .` would (see internal/launcher), waits until all are ready, prints
// where the API is, and stops everything on Ctrl-C or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"orderflow/internal/launcher"
)

func main() {
	// Stop gracefully if the parent (make, a shell) goes away without signalling us.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "\nmake run:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	runFile := flag.String("f", "dapr.yaml", "Dapr multi-app run template")
	daprd := flag.String("daprd", os.Getenv("DAPRD"), "daprd binary (make run passes the one tools/daprd.sh provisions)")
	binDir := flag.String("bin", "bin/apps", "where the apps are built")
	profile := flag.String("profile", "", "component profile under components/ (default: the one dapr.yaml names)")
	flag.Parse()
	if *daprd == "" {
		return errors.New("no daprd: run `make run` (it provisions daprd), or pass -daprd or set DAPRD")
	}

	specs, err := launcher.Load(*runFile)
	if err != nil {
		return err
	}
	if *profile != "" {
		if err := launcher.UseProfile(specs, filepath.Join(filepath.Dir(*runFile), "components"), *profile); err != nil {
			return err
		}
	}
	if err := launcher.Preflight(specs); err != nil {
		return err
	}
	fmt.Printf("starting %d apps with their sidecars (daprd %s); components from %s; logs also go to %s\n",
		len(specs), *daprd, strings.Join(specs[0].ResourcesPaths, " + "), filepath.Join(specs[0].Dir, ".dapr", "logs"))
	start := time.Now()
	if os.Getenv("DAPR_API_TOKEN") != "" || os.Getenv("APP_API_TOKEN") != "" {
		fmt.Println("API tokens are on: the sidecars and apps require DAPR_API_TOKEN / APP_API_TOKEN")
	}
	sys, err := launcher.Start(ctx, specs, launcher.Options{Daprd: *daprd, BinDir: *binDir, BaseEnv: os.Environ()})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\nstopping all apps and sidecars…")
		sys.Stop()
		fmt.Println("stopped; no orderflow process is left running")
	}()
	banner(sys, time.Since(start))

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if name, err, ok := sys.Exited(); ok {
				return fmt.Errorf("%s stopped unexpectedly (%v); stopping everything — see its log above or in .dapr/logs", name, err)
			}
		}
	}
}

func banner(sys *launcher.System, took time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "\norderflow is ready (%.1fs)\n", took.Seconds())
	for _, a := range sys.Apps() {
		fmt.Fprintf(&b, "  %-14s %s   (sidecar %s)\n", a.Name, a.URL(), a.SidecarURL())
	}
	if orders := sys.App("orders"); orders != nil {
		// The API takes a bearer token; tools/token asks the development issuer this run started for one.
		fmt.Fprintf(&b, "\nplace an order as customer c-42:\n  TOKEN=$(go run ./tools/token -sub c-42)\n"+
			"  curl -si -X POST %s/v1/orders -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n"+
			"    -d '{\"email\":\"ada@example.com\",\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2}],\"payment\":{\"cardToken\":\"tok_visa\"}}'\n"+
			"then follow it:\n  curl -s %s/v1/orders/<id from the Location header> -H \"Authorization: Bearer $TOKEN\"\n", orders.URL(), orders.URL())
	}
	if console := sys.App("console"); console != nil {
		fmt.Fprintf(&b, "\nopen the operations console: %s\n  (sign in with any customer id, such as c-42; tick admin for the dead letters)\n", console.URL())
	}
	b.WriteString("\nCtrl-C stops everything.\n")
	fmt.Print(b.String())
}
