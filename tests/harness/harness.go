// Package harness starts orderflow for integration tests: real daprd sidecars and real app processes, from
// the project's own dapr.yaml and components, through the same launcher `make run` uses. Each System is
// isolated — unique app ids (hence state key prefixes and consumer groups), topics and output folders — so
// tests run in parallel against the machine's shared brokers and stores. When a test fails the sidecar and app
// logs are dumped; when it ends everything is stopped and its keys and streams are removed.
package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"orderflow/internal/devtoken"
	"orderflow/internal/launcher"
)

// Options choose what a System runs.
type Options struct {
	// Apps limits the run to these app ids; empty runs every app in dapr.yaml.
	Apps []string
	// Overrides replaces component metadata: component → key → value.
	Overrides map[string]map[string]string
	// Env adds environment variables per app id.
	Env map[string]map[string]string
	// ExpectStartFailure returns the start error instead of failing the test.
	ExpectStartFailure bool
	// Spy runs a Spy (System.Spy) beside the apps.
	Spy bool
	// Profile is the component profile (components/<profile>); empty means "redis".
	Profile string
	// RedisAddr points the redis profile's pub/sub and state stores at another Redis than the machine's
	// (a PrivateRedis); empty uses RedisAddr.
	RedisAddr string
	// Console adds the operations console to a run of every app (an empty Apps). A run of every app leaves it
	// out otherwise: only the console's own tests need it, and it would cost each of the others a process, a
	// sidecar and twelve more subscriptions (console.go). A partial run lists "console" in Apps instead.
	Console bool
}

// System is a running, isolated orderflow.
type System struct {
	*launcher.System
	Suffix      string
	TopicPrefix string
	// DataDir holds the local output bindings' folders: mail/ and labels/.
	DataDir string
	logDir  string
	backend backend
	run     run
	// StartErr is set instead of failing when Options.ExpectStartFailure is true.
	StartErr error
	// CardSimulator is the base URL of the run's simulated card provider (when cardsim runs).
	CardSimulator string
	// Issuer is the base URL of the run's development issuer (when devissuer runs): every app's AUTH_ISSUER.
	Issuer string
	tokens *devtoken.Source
	// Spy records the run's events (Options.Spy).
	Spy *Spy
	// DaprAPIToken is what every sidecar of the run requires from its app (DAPR_API_TOKEN); AppAPIToken is
	// what every sidecar sends its app (APP_API_TOKEN). Both are random per run, as in production.
	DaprAPIToken, AppAPIToken string
	// baseEnv is the environment every sidecar and app of the run inherits (restarts need it again).
	baseEnv []string
}

var (
	buildOnce sync.Once
	buildErr  error
	binDir    string
)

// Root is the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("harness: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Daprd returns the daprd binary: $DAPRD (make test passes the provisioned one) or bin/daprd.
func Daprd(t testing.TB) string {
	t.Helper()
	path := os.Getenv("DAPRD")
	if path == "" {
		path = filepath.Join(Root(t), "bin", "daprd")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("harness: daprd not found at %s: run `make daprd` (or `make test`, which provisions it)", path)
	}
	return path
}

// Start runs orderflow for one test and registers its teardown.
func Start(t testing.TB, opts Options) *System {
	t.Helper()
	root := Root(t)
	specs, err := launcher.Load(filepath.Join(root, "dapr.yaml"))
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	opts.Apps = withIssuer(withoutConsole(specs, opts))
	profile := opts.Profile
	if profile == "" {
		profile = "redis"
	}
	back, err := backendFor(profile)
	if err != nil {
		t.Fatal(err)
	}
	if err := launcher.UseProfile(specs, filepath.Join(root, "components"), profile); err != nil {
		t.Fatalf("harness: %v", err)
	}
	if opts.RedisAddr != "" && profile != "redis" {
		t.Fatalf("harness: RedisAddr needs the redis profile, not %q", profile)
	}
	// A private Redis was started (and answered) by the test; the YAML still names the machine's.
	if opts.RedisAddr == "" {
		if err := launcher.Preflight(specs); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	prebuild(t, root, specs)

	suffix := randomSuffix()
	tmp := t.TempDir()
	sys := &System{
		DaprAPIToken: randomSuffix() + randomSuffix(),
		AppAPIToken:  randomSuffix() + randomSuffix(),
		Suffix:       suffix,
		TopicPrefix:  "t" + suffix + ".",
		DataDir:      filepath.Join(tmp, "data"),
		logDir:       filepath.Join(tmp, "logs"),
	}
	overrides := map[string]map[string]string{
		"email":           {"rootPath": filepath.Join(sys.DataDir, "mail")},
		"shipping-labels": {"rootPath": filepath.Join(sys.DataDir, "labels")},
	}
	sys.backend = back
	sys.run = run{suffix: suffix, topicPrefix: sys.TopicPrefix, tmp: tmp, apps: appIDs(specs, opts.Apps), redis: opts.RedisAddr}
	backendOverrides, err := back.prepare(t, sys.run)
	if err != nil {
		t.Fatalf("harness: preparing the %s profile: %v", profile, err)
	}
	t.Cleanup(func() { back.cleanup(t, sys.run) })
	if opts.RedisAddr != "" {
		backendOverrides = mergeOverrides(backendOverrides, redisHostOverrides(opts.RedisAddr))
	}
	for comp, kv := range mergeOverrides(backendOverrides, opts.Overrides) {
		if overrides[comp] == nil {
			overrides[comp] = map[string]string{}
		}
		for k, v := range kv {
			overrides[comp][k] = v
		}
	}
	appPorts := map[string]int{}
	if len(opts.Apps) == 0 || slices.Contains(opts.Apps, "cardsim") {
		// The card-provider binding must point at this run's simulator.
		port, err := launcher.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		appPorts["cardsim"] = port
		sys.CardSimulator = fmt.Sprintf("http://127.0.0.1:%d", port)
		overrides["card-provider"] = map[string]string{"url": sys.CardSimulator}
	}
	appEnv := opts.Env
	if len(opts.Apps) == 0 || slices.Contains(opts.Apps, "devissuer") {
		// The services must trust this run's issuer, which names itself after its own port (AUTH_ISSUER is both
		// what it puts in iss and what the services expect there).
		port, err := launcher.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		appPorts["devissuer"] = port
		sys.Issuer = fmt.Sprintf("http://127.0.0.1:%d", port)
		sys.tokens = &devtoken.Source{Issuer: sys.Issuer}
		appEnv = map[string]map[string]string{}
		for _, s := range specs {
			appEnv[s.ID] = map[string]string{"AUTH_ISSUER": sys.Issuer}
			for k, v := range opts.Env[s.ID] {
				appEnv[s.ID][k] = v
			}
		}
	}
	if slices.ContainsFunc(specs, func(s launcher.Spec) bool { return s.ID == ConsoleApp }) && (len(opts.Apps) == 0 || slices.Contains(opts.Apps, ConsoleApp)) {
		appEnv = consoleEnv(appEnv, sys)
	}
	iso := &launcher.Isolation{Suffix: suffix, TopicPrefix: sys.TopicPrefix, Overrides: overrides, Dir: filepath.Join(tmp, "resources")}
	only := opts.Apps
	if len(only) > 0 {
		iso.Overrides = onlyFor(overrides, specs, opts.Apps)
	}
	if opts.Spy {
		spy, err := newSpy(sys.TopicPrefix)
		if err != nil {
			t.Fatal(err)
		}
		sys.Spy = spy
		specs = append(specs, launcher.Spec{
			ID: "spy", Dir: specs[0].Dir, AppPort: spy.port(), ResourcesPaths: specs[0].ResourcesPaths,
			ConfigFile: specs[0].ConfigFile, Protocol: "http", DaprdLogDestination: launcher.LogFile,
			AppLogDestination: launcher.LogFile, Env: map[string]string{},
		})
		iso.ExtraScopes = map[string][]string{"pubsub": {"spy"}, "secretstore": {"spy"}}
		if len(only) > 0 {
			only = append(append([]string(nil), only...), "spy")
		}
	}

	if len(only) > 0 {
		if specs, err = selectApps(specs, only); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}

	sys.baseEnv = append(os.Environ(), "DAPR_API_TOKEN="+sys.DaprAPIToken, "APP_API_TOKEN="+sys.AppAPIToken)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	started, err := startRetrying(ctx, specs, launcher.Options{
		Daprd:        Daprd(t),
		BinDir:       binDir,
		Prebuilt:     true,
		LogDir:       sys.logDir,
		Console:      io.Discard,
		Isolation:    iso,
		FreePorts:    true,
		BaseEnv:      sys.baseEnv,
		AppEnv:       appEnv,
		AppPorts:     appPorts,
		ReadyTimeout: 60 * time.Second,
	})
	t.Cleanup(func() { sys.teardown(t) })
	if err != nil {
		if opts.ExpectStartFailure {
			sys.StartErr = err
			return sys
		}
		t.Fatalf("harness: starting orderflow: %v", err)
	}
	if opts.ExpectStartFailure {
		started.Stop()
		t.Fatal("harness: orderflow started although the test expected it to fail")
	}
	sys.System = started
	if sys.tokens != nil {
		sys.registerDefaultAuth(t)
	}
	if sys.Spy != nil {
		sys.Spy.sidecar, sys.Spy.token = started.App("spy").SidecarURL(), sys.DaprAPIToken
	}
	return sys
}

// startRetrying retries a start that lost a port to another process between choosing it and binding it.
func startRetrying(ctx context.Context, specs []launcher.Spec, opts launcher.Options) (*launcher.System, error) {
	for attempt := 1; ; attempt++ {
		sys, err := launcher.Start(ctx, specs, opts)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return sys, err
		}
	}
}

// selectApps keeps the specs of the apps a partial run asked for, in run-file order.
func selectApps(specs []launcher.Spec, only []string) ([]launcher.Spec, error) {
	var selected []launcher.Spec
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
		if slices.Contains(only, s.ID) {
			selected = append(selected, s)
		}
	}
	if len(selected) != len(only) {
		return nil, fmt.Errorf("run file has apps %v; asked for %v", ids, only)
	}
	return selected, nil
}

// onlyFor drops overrides for components no selected app loads, so a partial run does not fail the
// "unused override" check on the output folders of apps it does not start.
func onlyFor(overrides map[string]map[string]string, specs []launcher.Spec, apps []string) map[string]map[string]string {
	keep := map[string]bool{"email": slices.Contains(apps, "notifications"), "shipping-labels": slices.Contains(apps, "shipping"),
		"card-provider": slices.Contains(apps, "payments") && slices.Contains(apps, "cardsim")}
	out := map[string]map[string]string{}
	for comp, kv := range overrides {
		if k, listed := keep[comp]; listed && !k {
			continue
		}
		out[comp] = kv
	}
	return out
}

func prebuild(t testing.TB, root string, specs []launcher.Spec) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "orderflow-test-bin-")
		if buildErr != nil {
			return
		}
		var pkgs []string
		for _, s := range specs {
			if pkg, ok := launcher.GoRunPackage(s.Command); ok {
				pkgs = append(pkgs, pkg)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		buildErr = launcher.Build(ctx, root, binDir, pkgs)
	})
	if buildErr != nil {
		t.Fatalf("harness: building the apps: %v", buildErr)
	}
}

// App returns the running app with the run file's id, failing the test if it is not running.
func (s *System) App(t testing.TB, name string) *launcher.App {
	t.Helper()
	a := s.System.App(name)
	if a == nil {
		t.Fatalf("harness: app %s is not part of this system", name)
	}
	return a
}

// AppID is the isolated id app runs under.
func (s *System) AppID(name string) string { return name + "-" + s.Suffix }

// Topic is the isolated name of a catalog topic.
func (s *System) Topic(topic string) string { return s.TopicPrefix + topic }

func (s *System) teardown(t testing.TB) {
	if s.System != nil {
		s.System.Stop()
	}
	if s.Spy != nil {
		s.Spy.close()
	}
	if t.Failed() {
		s.dumpLogs(t)
	}
}

func appIDs(specs []launcher.Spec, only []string) []string {
	if len(only) > 0 {
		return only
	}
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	return ids
}

func mergeOverrides(layers ...map[string]map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, layer := range layers {
		for comp, kv := range layer {
			if out[comp] == nil {
				out[comp] = map[string]string{}
			}
			for k, v := range kv {
				out[comp][k] = v
			}
		}
	}
	return out
}

// dumpLogs prints the last lines of every sidecar and app log, so a failure explains itself.
func (s *System) dumpLogs(t testing.TB) {
	files, _ := filepath.Glob(filepath.Join(s.logDir, "*.log"))
	for _, f := range files {
		lines := lastLines(f, 80)
		t.Logf("==== %s (last %d lines) ====\n%s", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
}

func lastLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
