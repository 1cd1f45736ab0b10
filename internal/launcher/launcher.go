package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options tune how a System runs the specs. make run sets Daprd, BinDir and BaseEnv; the rest serve the
// integration tests and tools/bench, which both run an isolated system beside whatever else uses the brokers.
// What only the tests need lives in tests/harness, except the App methods that stop or restart one process
// (StopSidecar, AppExited, Restart): they need the launcher's own bookkeeping of the processes it stops.
type Options struct {
	// Daprd is the daprd binary (see tools/daprd.sh).
	Daprd string
	// BinDir receives the binaries built for `go run <pkg>` commands.
	BinDir string
	// Prebuilt means BinDir already holds those binaries (the test harness and the bench build them first).
	Prebuilt bool
	// LogDir overrides the CLI's <appDirPath>/.dapr/logs.
	LogDir string
	// Console receives every process's console output, each line prefixed with its app id. Nil: os.Stdout.
	Console io.Writer
	// Isolation namespaces the run (tests, bench); nil runs the specs as written.
	Isolation *Isolation
	// FreePorts replaces every port in the run file by a free one (tests, bench).
	FreePorts bool
	// AppPorts pins app ports (by the run file's app id) after FreePorts, for apps other configuration must
	// point at, such as the card simulator the card-provider binding calls.
	AppPorts map[string]int
	// BaseEnv is the environment daprd and the apps inherit. Nil: os.Environ(), as with the CLI.
	BaseEnv []string
	// AppEnv adds variables to an app's environment (keyed by the run file's app id), after the run file's.
	AppEnv map[string]map[string]string
	// ReadyTimeout bounds the wait for every sidecar and app to be ready. Zero: 90s.
	ReadyTimeout time.Duration
}

// stopGrace is how long a process gets between SIGTERM and SIGKILL; make run, the bench and the tests all
// want the same, so it is not an option.
const stopGrace = 10 * time.Second

// System is a running set of apps and their sidecars.
type System struct {
	opts Options
	apps []*App
}

// App is one running app and its sidecar.
type App struct {
	// Name is the app id in the run file; Spec.ID is the id it runs under (different when isolated).
	Name     string
	Spec     Spec
	binary   string
	args     []string
	env      []string
	opts     *Options
	mu       sync.Mutex
	daprd    *proc
	app      *proc
	daprdLog string
	appLog   string
	files    []io.Closer
	console  io.Writer
}

// Start launches the specs and returns once every sidecar answers /v1.0/healthz and every app answers
// /readyz (ReadyURL). On failure it stops what it started and explains which process is not ready and why.
func Start(ctx context.Context, specs []Spec, opts Options) (*System, error) {
	if opts.Console == nil {
		opts.Console = os.Stdout
	}
	if opts.BaseEnv == nil {
		opts.BaseEnv = os.Environ()
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 90 * time.Second
	}
	if _, err := os.Stat(opts.Daprd); err != nil {
		return nil, fmt.Errorf("daprd binary %q: %w (run `make daprd`)", opts.Daprd, err)
	}
	all := make([]string, 0, len(specs))
	for _, s := range specs {
		all = append(all, s.ID)
	}

	sys := &System{opts: opts}
	width := 0
	for _, s := range specs {
		width = max(width, len(s.ID)+len(":daprd"))
	}
	rendered := map[string]string{}
	for _, s := range specs {
		a := &App{Name: s.ID, Spec: s, opts: &sys.opts}
		a.Spec.Env = copyEnv(s.Env)
		if err := a.Spec.assignPorts(opts.FreePorts); err != nil {
			return nil, err
		}
		if p, ok := opts.AppPorts[s.ID]; ok {
			a.Spec.AppPort = p
		}
		if !opts.FreePorts {
			if busy := a.Spec.portsInUse(); len(busy) > 0 {
				return nil, fmt.Errorf("app %s: ports already in use: %s (is orderflow already running? stop it, or change the ports in dapr.yaml)",
					s.ID, strings.Join(busy, ", "))
			}
		}
		if iso := opts.Isolation; iso != nil {
			key := strings.Join(s.ResourcesPaths, "\x00")
			if rendered[key] == "" {
				sub := *iso
				sub.Dir = filepath.Join(iso.Dir, "resources-"+strconv.Itoa(len(rendered)))
				dir, err := sub.render(s.ResourcesPaths, all)
				if err != nil {
					return nil, fmt.Errorf("rendering resources for %s: %w", s.ID, err)
				}
				rendered[key] = dir
			}
			a.Spec.ResourcesPaths = []string{rendered[key]}
			a.Spec.ID = iso.AppID(s.ID)
			a.Spec.Env["TOPIC_PREFIX"] = iso.TopicPrefix
		}
		for k, v := range opts.AppEnv[s.ID] {
			a.Spec.Env[k] = v
		}
		a.console = opts.Console
		sys.apps = append(sys.apps, a)
	}
	if err := sys.build(ctx); err != nil {
		return nil, err
	}
	started := time.Now()
	for _, a := range sys.apps {
		if err := a.start(width, started); err != nil {
			sys.Stop()
			return nil, err
		}
	}
	if err := sys.waitReady(ctx); err != nil {
		sys.Stop()
		return nil, err
	}
	return sys, nil
}

// Apps lists the running apps in run-file order.
func (s *System) Apps() []*App { return s.apps }

// App returns the app with the run file's id name, or nil.
func (s *System) App(name string) *App {
	for _, a := range s.apps {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Stop stops every app and sidecar at once, as Kubernetes does with a pod's containers: SIGTERM, a grace
// period, then SIGKILL.
func (s *System) Stop() {
	var wg sync.WaitGroup
	for _, a := range s.apps {
		for _, p := range a.procs() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.stop(stopGrace)
			}()
		}
	}
	wg.Wait()
	for _, a := range s.apps {
		for _, f := range a.files {
			_ = f.Close()
		}
	}
}

// Exited reports the first process that ended on its own, if any.
func (s *System) Exited() (string, error, bool) {
	for _, a := range s.apps {
		for _, p := range a.procs() {
			if p.exited() {
				return p.name, p.exitErr(), true
			}
		}
	}
	return "", nil, false
}

// build compiles every `go run <pkg>` command once, into BinDir.
func (s *System) build(ctx context.Context) error {
	var pkgs []string
	for _, a := range s.apps {
		if len(a.Spec.Command) == 0 {
			continue // daprd only: the app runs elsewhere, as with the CLI
		}
		if pkg, ok := GoRunPackage(a.Spec.Command); ok {
			pkgs = append(pkgs, pkg)
			a.binary = filepath.Join(s.opts.BinDir, filepath.Base(pkg))
			continue
		}
		a.binary, a.args = a.Spec.Command[0], a.Spec.Command[1:]
		if strings.Contains(a.binary, "/") && !filepath.IsAbs(a.binary) {
			a.binary = filepath.Join(a.Spec.Dir, a.binary)
		}
	}
	if len(pkgs) == 0 || s.opts.Prebuilt {
		return nil
	}
	return Build(ctx, s.apps[0].Spec.Dir, s.opts.BinDir, pkgs)
}

// Build compiles packages (relative to dir) into binDir, one binary per package named after its directory.
func Build(ctx context.Context, dir, binDir string, pkgs []string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the Go toolchain is not on PATH: install Go (the version in go.mod) to build the apps")
	}
	if binDir == "" {
		return errors.New("launcher: BinDir is required to build `go run` commands")
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, goBin, append([]string{"build", "-o", binDir + "/"}, pkgs...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("building the apps (go build %s): %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// GoRunPackage recognises `go run <pkg>` and returns the package.
func GoRunPackage(cmd []string) (string, bool) {
	if len(cmd) == 3 && cmd[0] == "go" && cmd[1] == "run" && !strings.HasPrefix(cmd[2], "-") {
		return cmd[2], true
	}
	return "", false
}

func (a *App) logDir() string {
	if a.opts.LogDir != "" {
		return a.opts.LogDir
	}
	return filepath.Join(a.Spec.Dir, ".dapr", "logs")
}

func (a *App) start(width int, at time.Time) error {
	a.env = a.Spec.AppEnv(a.opts.BaseEnv)
	daprdOut, daprdLog, err := a.output(a.Spec.DaprdLogDestination, "daprd", a.Name+":daprd", width, at)
	if err != nil {
		return err
	}
	appOut, appLog, err := a.output(a.Spec.AppLogDestination, "app", a.Name, width, at)
	if err != nil {
		return err
	}
	a.daprdLog, a.appLog = daprdLog, appLog
	d, err := startProc(a.Name+":daprd", a.Spec.Dir, a.opts.Daprd, a.Spec.DaprdArgs(), a.opts.BaseEnv, daprdOut)
	if err != nil {
		return err
	}
	if a.binary == "" {
		a.mu.Lock()
		a.daprd = d
		a.mu.Unlock()
		return nil
	}
	p, err := startProc(a.Name, a.Spec.Dir, a.binary, a.args, a.env, appOut)
	if err != nil {
		d.stop(stopGrace)
		return err
	}
	a.mu.Lock()
	a.daprd, a.app = d, p
	a.mu.Unlock()
	return nil
}

func (a *App) output(dest, kind, label string, width int, at time.Time) (output, string, error) {
	out := output{prefix: fmt.Sprintf("%-*s | ", width, label)}
	if dest == LogConsole || dest == LogFileAndConsole {
		out.console = a.console
	}
	if dest == LogFile || dest == LogFileAndConsole {
		f, err := logFile(a.logDir(), a.Spec.ID, kind, at)
		if err != nil {
			return output{}, "", err
		}
		out.file = f
		a.files = append(a.files, f)
		return out, f.Name(), nil
	}
	return out, "", nil
}

func (a *App) procs() []*proc {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ps []*proc
	for _, p := range []*proc{a.app, a.daprd} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// URL is the app's base URL.
func (a *App) URL() string { return "http://127.0.0.1:" + strconv.Itoa(a.Spec.AppPort) }

// ReadyURL is where the app answers readiness: /readyz on its ops port when it has one (with the reasons a
// check fails), else on its app port.
func (a *App) ReadyURL() string {
	if p := a.Spec.OpsPort(); p > 0 {
		return "http://127.0.0.1:" + strconv.Itoa(p) + "/readyz"
	}
	return a.URL() + "/readyz"
}

// SidecarURL is the sidecar's HTTP API base URL.
func (a *App) SidecarURL() string { return "http://127.0.0.1:" + strconv.Itoa(a.Spec.DaprHTTPPort) }

// LogFiles returns the app's and the sidecar's log files ("" when logging to the console only).
func (a *App) LogFiles() (app, daprd string) { return a.appLog, a.daprdLog }

// PIDs returns the process ids of the app (0 when the launcher does not run it) and its sidecar.
func (a *App) PIDs() (app, daprd int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.app != nil {
		app = a.app.cmd.Process.Pid
	}
	if a.daprd != nil {
		daprd = a.daprd.cmd.Process.Pid
	}
	return app, daprd
}

// StopSidecar stops the app's daprd gracefully, leaving the app running.
func (a *App) StopSidecar() {
	a.mu.Lock()
	d := a.daprd
	a.mu.Unlock()
	d.stop(stopGrace)
}

// AppExited waits up to timeout for the app process to end on its own (a failpoint) and reports whether it did.
func (a *App) AppExited(timeout time.Duration) bool {
	a.mu.Lock()
	p := a.app
	a.mu.Unlock()
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Restart starts the app process again (its sidecar keeps running) with env changes (an empty value removes
// the variable), and waits until it is ready.
func (a *App) Restart(ctx context.Context, env map[string]string) error {
	a.mu.Lock()
	old := a.app
	a.mu.Unlock()
	old.stop(stopGrace)
	for k, v := range env {
		a.env = slices.DeleteFunc(a.env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		if v != "" {
			a.env = append(a.env, k+"="+v)
		}
	}
	out := output{console: a.console, prefix: a.Name + " | "}
	if a.appLog != "" {
		f, err := os.OpenFile(a.appLog, os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		out.file = f
		a.files = append(a.files, f)
	}
	p, err := startProc(a.Name, a.Spec.Dir, a.binary, a.args, a.env, out)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.app = p
	a.mu.Unlock()
	return a.waitReady(ctx, a.opts.ReadyTimeout)
}

// waitReady polls every app and sidecar until all are ready.
func (s *System) waitReady(ctx context.Context) error {
	errs := make([]error, len(s.apps))
	var wg sync.WaitGroup
	for i, a := range s.apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.waitReady(ctx, s.opts.ReadyTimeout)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *App) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	sidecar := a.SidecarURL() + "/v1.0/healthz"
	ready := a.ReadyURL()
	var last string
	for {
		for _, p := range a.procs() {
			if p.exited() {
				return fmt.Errorf("%s %v before becoming ready; its last lines:\n  %s",
					p.name, p.exitErr(), strings.Join(p.tail.last(15), "\n  "))
			}
		}
		sOK, sBody := probe(ctx, client, sidecar)
		aOK, aBody := probe(ctx, client, ready)
		if sOK && aOK {
			return nil
		}
		switch {
		case !sOK:
			last = "sidecar " + sidecar + ": " + sBody
		default:
			last = "app " + ready + ": " + aBody
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("%s not ready after %s: %s", a.Name, timeout, last)
			for _, p := range a.procs() {
				msg += fmt.Sprintf("\n  last lines of %s:\n  %s", p.name, strings.Join(p.tail.last(10), "\n  "))
			}
			return errors.New(msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
}

func probe(ctx context.Context, c *http.Client, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return resp.StatusCode/100 == 2, resp.Status + " " + strings.TrimSpace(string(body))
}

func copyEnv(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
