package harness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"orderflow/internal/launcher"
)

// Part is one process of an app's pod: the app itself or its daprd sidecar.
type Part string

// The two parts of a pod.
const (
	AppProcess Part = "app"
	Sidecar    Part = "daprd"
)

// Restart is one process the supervisor started again after it died.
type Restart struct {
	App  string
	Part Part
	// DiedAt is when the supervisor noticed the process gone, StartedAt when the new one started, ReadyAt when
	// the pod (sidecar healthy, app ready) answered again; zero if the new process died first, in which case a
	// later Restart of the same part follows.
	DiedAt, StartedAt, ReadyAt time.Time
}

// Supervisor restarts every process of a System that dies — app or sidecar, killed by the test or crashed on
// its own — as Kubernetes restarts a pod's containers: at once the first time, then with a growing back-off
// while the new process keeps dying before it is ready.
type Supervisor struct {
	sys      *System
	daprd    string
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	members  map[memberKey]*member
	restarts []Restart
}

type memberKey struct {
	app  string
	part Part
}

// member is the current process of one part. The launcher's original processes are watched by pid (the
// launcher reaps them); the supervisor's own replacements by their Wait.
type member struct {
	pid  int
	done chan struct{} // nil for the launcher's original process
}

func (m *member) alive() bool {
	if m.done != nil {
		select {
		case <-m.done:
			return false
		default:
			return true
		}
	}
	return pidAlive(m.pid)
}

// pidAlive reports whether pid runs and is not a zombie waiting to be reaped.
func pidAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs (macOS): signal 0 is all there is to go by
	}
	// The state is the first field after the parenthesised command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// superviseBackoffMax caps the back-off between restarts of a crash-looping process.
const superviseBackoffMax = 5 * time.Second

// Supervise starts restarting whatever process of the system dies, until the test ends. Kill a process with
// Kill to have it restarted.
func (s *System) Supervise(t testing.TB) *Supervisor {
	t.Helper()
	sv := &Supervisor{sys: s, daprd: Daprd(t), stop: make(chan struct{}), members: map[memberKey]*member{}}
	for _, a := range s.Apps() {
		appPID, daprdPID := a.PIDs()
		for part, pid := range map[Part]int{AppProcess: appPID, Sidecar: daprdPID} {
			if pid == 0 {
				continue // the spy's app runs inside the test process
			}
			sv.members[memberKey{a.Name, part}] = &member{pid: pid}
		}
	}
	for _, a := range s.Apps() {
		for _, part := range []Part{AppProcess, Sidecar} {
			if sv.members[memberKey{a.Name, part}] != nil {
				sv.wg.Add(1)
				go sv.watch(a, part)
			}
		}
	}
	// Registered after Start's teardown, so it runs first: nothing is restarted while the system stops.
	t.Cleanup(sv.Stop)
	return sv
}

// Kill sends SIGKILL to the part's current process (its whole process group), as a node or OOM kill would,
// and returns when it was sent.
func (sv *Supervisor) Kill(app string, part Part) (time.Time, error) {
	sv.mu.Lock()
	m := sv.members[memberKey{app, part}]
	sv.mu.Unlock()
	if m == nil {
		return time.Time{}, fmt.Errorf("supervisor: no %s process for app %s", part, app)
	}
	at := time.Now()
	if err := syscall.Kill(-m.pid, syscall.SIGKILL); err != nil {
		return at, fmt.Errorf("supervisor: killing %s %s (pid %d): %w", app, part, m.pid, err)
	}
	return at, nil
}

// Restarts lists the restarts made so far, in the order they started.
func (sv *Supervisor) Restarts() []Restart {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return append([]Restart(nil), sv.restarts...)
}

// AwaitReady waits until every app's sidecar answers /v1.0/healthz and every app /readyz, with no restart
// pending.
func (sv *Supervisor) AwaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var waiting []string
		for _, a := range sv.sys.Apps() {
			if !sv.running(a.Name) || !podReady(ctx, a) {
				waiting = append(waiting, a.Name)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("supervisor: not ready after %s: %s", timeout, strings.Join(waiting, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (sv *Supervisor) running(app string) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for k, m := range sv.members {
		if k.app == app && !m.alive() {
			return false
		}
	}
	return true
}

// Stop ends supervision and stops the processes the supervisor started (SIGTERM, then SIGKILL); the
// launcher's own processes are left to the System's teardown.
func (sv *Supervisor) Stop() {
	select {
	case <-sv.stop:
		return
	default:
	}
	close(sv.stop)
	sv.wg.Wait()
	sv.mu.Lock()
	defer sv.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range sv.members {
		if m.done == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = syscall.Kill(-m.pid, syscall.SIGTERM)
			select {
			case <-m.done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-m.pid, syscall.SIGKILL)
				<-m.done
			}
		}()
	}
	wg.Wait()
}

// watch restarts one part of one app whenever its process dies.
func (sv *Supervisor) watch(a *launcher.App, part Part) {
	defer sv.wg.Done()
	key := memberKey{a.Name, part}
	failures := 0
	for {
		sv.mu.Lock()
		m := sv.members[key]
		sv.mu.Unlock()
		if !sv.sleepWhile(m.alive, 50*time.Millisecond) {
			return
		}
		died := time.Now()
		if failures > 0 {
			backoff := min(superviseBackoffMax, time.Duration(1<<min(failures-1, 6))*500*time.Millisecond)
			select {
			case <-sv.stop:
				return
			case <-time.After(backoff):
			}
		}
		next, err := sv.spawn(a, part)
		if err != nil {
			failures++ // a port still held, a binary gone: try again after the back-off
			continue
		}
		sv.mu.Lock()
		sv.members[key] = next
		sv.restarts = append(sv.restarts, Restart{App: a.Name, Part: part, DiedAt: died, StartedAt: time.Now()})
		idx := len(sv.restarts) - 1
		sv.mu.Unlock()
		ready := func() bool { return next.alive() && !podReady(context.Background(), a) }
		if !sv.sleepWhile(ready, 100*time.Millisecond) {
			return
		}
		if !next.alive() {
			failures++
			continue
		}
		failures = 0
		sv.mu.Lock()
		sv.restarts[idx].ReadyAt = time.Now()
		sv.mu.Unlock()
	}
}

// sleepWhile polls cond every interval until it is false; it reports false if supervision stopped first.
func (sv *Supervisor) sleepWhile(cond func() bool, interval time.Duration) bool {
	for cond() {
		select {
		case <-sv.stop:
			return false
		case <-time.After(interval):
		}
	}
	return true
}

// spawn starts a new process for the part with the command line, environment and log file the launcher
// gave the original.
func (sv *Supervisor) spawn(a *launcher.App, part Part) (*member, error) {
	appLog, daprdLog := a.LogFiles()
	path, args, env, logPath := sv.daprd, a.Spec.DaprdArgs(), sv.sys.baseEnv, daprdLog
	if part == AppProcess {
		path, args = appCommand(a.Spec)
		env, logPath = a.Spec.AppEnv(sv.sys.baseEnv), appLog
	}
	out, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "==== harness supervisor: restarting %s %s at %s ====\n", a.Name, part, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(path, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = a.Spec.Dir, env, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	m := &member{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(m.done)
	}()
	return m, nil
}

// appCommand is the binary and arguments the launcher runs for spec: the prebuilt binary for `go run <pkg>`.
func appCommand(spec launcher.Spec) (string, []string) {
	if pkg, ok := launcher.GoRunPackage(spec.Command); ok {
		return filepath.Join(binDir, filepath.Base(pkg)), nil
	}
	path := spec.Command[0]
	if strings.Contains(path, "/") && !filepath.IsAbs(path) {
		path = filepath.Join(spec.Dir, path)
	}
	return path, spec.Command[1:]
}

var probeClient = &http.Client{Timeout: 2 * time.Second}

// podReady reports whether a's sidecar is healthy and a answers /readyz (the spy's in-process app included).
func podReady(ctx context.Context, a *launcher.App) bool {
	for _, url := range []string{a.SidecarURL() + "/v1.0/healthz", a.ReadyURL()} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return false
		}
	}
	return true
}
