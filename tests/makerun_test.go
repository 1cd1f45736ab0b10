package tests

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cliHome is a $HOME with a Dapr CLI installation as `dapr init --slim` leaves it: ~/.dapr/config.yaml and a
// ~/.dapr/bin/daprd (a script reporting daprdVersion). Empty daprdVersion: `dapr init` never ran.
type cliHome struct {
	home, bin, pids, env string
}

func newCLIHome(t *testing.T, daprdVersion string) cliHome {
	t.Helper()
	dir := t.TempDir()
	h := cliHome{home: filepath.Join(dir, "home"), bin: filepath.Join(dir, "bin"),
		pids: filepath.Join(dir, "pids"), env: filepath.Join(dir, "env")}
	require.NoError(t, os.MkdirAll(filepath.Join(h.home, ".dapr", "bin"), 0o755))
	require.NoError(t, os.MkdirAll(h.bin, 0o755))
	if daprdVersion != "" {
		require.NoError(t, os.WriteFile(filepath.Join(h.home, ".dapr", "config.yaml"), []byte("kind: Configuration\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(h.home, ".dapr", "bin", "daprd"),
			[]byte("#!/bin/sh\necho "+daprdVersion+"\n"), 0o755))
	}
	build := exec.Command("go", "build", "-o", filepath.Join(h.bin, "dapr"), "./testdata/fakedapr")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the stand-in Dapr CLI: %s", out)
	return h
}

// makeRun is `make run` started in a pseudo-terminal of its own, as a user's shell starts it: make is the
// terminal's foreground process group, so a Ctrl-C typed there reaches make and its recipe, and nothing else.
type makeRun struct {
	cmd     *exec.Cmd
	tty     *os.File
	mu      sync.Mutex
	out     bytes.Buffer
	done    chan error
	drained chan struct{} // closed once everything written to the terminal has been read
}

func startMakeRun(t *testing.T, h cliHome, env ...string) *makeRun {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	cmd := exec.Command("make", "--no-print-directory", "run")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "HOME="+h.home, "PATH="+h.bin+":"+os.Getenv("PATH"),
		"FAKE_DAPR_PIDS="+h.pids, "FAKE_DAPR_ENV="+h.env, "DAPR_API_TOKEN=", "APP_API_TOKEN=")
	cmd.Env = append(cmd.Env, env...)
	tty, err := pty.Start(cmd)
	require.NoError(t, err)
	m := &makeRun{cmd: cmd, tty: tty, done: make(chan error, 1), drained: make(chan struct{})}
	go func() {
		defer close(m.drained)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			m.mu.Lock()
			m.out.Write(buf[:n])
			m.mu.Unlock()
			if err != nil {
				return // EIO once every process holding the terminal is gone
			}
		}
	}()
	go func() { m.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = tty.Close()
	})
	return m
}

func (m *makeRun) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.String()
}

// wait waits for make to end and for its last output to be read, and returns make's error; the test fails
// if that has not happened within timeout.
func (m *makeRun) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	deadline := time.After(timeout)
	var err error
	select {
	case err = <-m.done:
	case <-deadline:
		t.Fatalf("make run did not end within %s; output:\n%s", timeout, m.output())
	}
	select {
	case <-m.drained: // the terminal reports EIO once no process holds it and its buffer is read
	case <-deadline:
		t.Fatalf("make run's terminal was not drained within %s; output:\n%s", timeout, m.output())
	}
	return err
}

func readPIDs(t *testing.T, path string) []int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var pids []int
	for _, f := range strings.Fields(string(raw)) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	return pids
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestMakeRunWithTheDaprCLI drives `make run` through a pseudo-terminal with a stand-in for the Dapr CLI that
// does what the real one does with processes (testdata/fakedapr): one Ctrl-C must stop the CLI and everything
// it started, and local runs pass no API tokens unless SECURE=1.
func TestMakeRunWithTheDaprCLI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        []string
		wantTokens string
	}{
		{name: "plain run: no tokens, so the CLI's own commands work", wantTokens: "tokens=no"},
		{name: "SECURE=1 turns the API tokens on", env: []string{"SECURE=1"}, wantTokens: "tokens=yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newCLIHome(t, "1.18.2")
			m := startMakeRun(t, h, tt.env...)
			var pids []int
			require.Eventually(t, func() bool {
				pids = readPIDs(t, h.pids)
				return len(pids) == 5 && strings.Contains(m.output(), "You're up and running")
			}, time.Minute, 50*time.Millisecond, "the CLI started its apps; output:\n%s", m.output())
			assert.Contains(t, m.output(), "using the Dapr CLI: dapr run -f dapr.yaml")
			env, err := os.ReadFile(h.env)
			require.NoError(t, err)
			assert.Equal(t, tt.wantTokens, strings.TrimSpace(string(env)))

			_, err = m.tty.Write([]byte{0x03}) // Ctrl-C: the terminal sends SIGINT to its foreground group
			require.NoError(t, err)
			_ = m.wait(t, 30*time.Second)
			assert.Contains(t, m.output(), "forwarding SIGINT to the Dapr CLI")
			for _, pid := range pids {
				assert.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 50*time.Millisecond,
					"process %d is still running after one Ctrl-C", pid)
			}
		})
	}
}

// TestMakeRunFallsBackFromAnUnusableCLI checks that `make run` says why it does not use an installed CLI and
// goes on with the project's launcher. DAPRD points nowhere, so the launcher's first step fails at once and
// the test stays fast: what matters is the decision and its message.
func TestMakeRunFallsBackFromAnUnusableCLI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, daprdVersion, why string
		env                     []string
	}{
		{name: "dapr init never ran", why: "'dapr init' was never run"},
		{name: "the CLI's daprd is another release", daprdVersion: "1.14.1", why: "is '1.14.1', orderflow needs 1.18.x"},
		{name: "USE_CLI=0", daprdVersion: "1.18.2", env: []string{"USE_CLI=0"}, why: "USE_CLI=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newCLIHome(t, tt.daprdVersion)
			m := startMakeRun(t, h, append(tt.env, "DAPRD=/nonexistent/daprd")...)
			err := m.wait(t, time.Minute)
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the launcher's daprd provisioning refuses DAPRD=/nonexistent; output:\n%s", m.output())
			out := m.output()
			assert.Contains(t, out, "not using the Dapr CLI: ")
			assert.Contains(t, out, tt.why)
			assert.Contains(t, out, "running the project's launcher instead")
			assert.Contains(t, out, "DAPRD=/nonexistent/daprd does not exist", "the launcher's path ran")
			assert.NoFileExists(t, h.pids, "the CLI was not started")
		})
	}
}
