package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"orderflow/internal/launcher"
)

// PrivateRedis is a redis-server the test runs itself, on a free loopback port, without persistence. Tests
// that stop the broker and stores (SIGSTOP) use one, so they never disturb the machine's shared Redis or the
// tests running beside them. Pass its Addr as Options.RedisAddr.
type PrivateRedis struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	// paused is true between Pause and Resume, so teardown can wake a stopped server before killing it.
	paused bool
}

// StartPrivateRedis starts redis-server on a free port, waits until it answers PING, and stops it when the
// test ends.
func StartPrivateRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("harness: a private Redis needs redis-server on PATH: %v", err)
	}
	for attempt := 1; ; attempt++ {
		r, err := startRedis(bin, t.TempDir())
		if err == nil {
			t.Cleanup(r.stop)
			return r
		}
		// Another process may take the port between choosing and binding it; try another one.
		if attempt == 3 {
			t.Fatalf("harness: starting a private redis-server: %v", err)
		}
	}
}

func startRedis(bin, dir string) (*PrivateRedis, error) {
	port, err := launcher.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logf, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so signals meant for it reach nothing else; and it dies with the test process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	r := &PrivateRedis{Addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(r.done)
	}()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-r.done:
			log, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("redis-server on %s exited: %s", addr, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return r, nil
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s does not answer PING: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pause stops the server (SIGSTOP): connections stay open and every command hangs, as with a frozen host.
func (r *PrivateRedis) Pause() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	r.paused = true
	return nil
}

// Resume continues a paused server (SIGCONT).
func (r *PrivateRedis) Resume() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	r.paused = false
	return nil
}

func (r *PrivateRedis) stop() {
	r.mu.Lock()
	if r.paused {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
		r.paused = false
	}
	r.mu.Unlock()
	_ = r.cmd.Process.Kill()
	<-r.done
}
