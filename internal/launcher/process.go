package launcher

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is one supervised child process. It runs in its own process group so that stopping it also stops
// anything it spawned, and it dies with the launcher (Pdeathsig) so no orphan survives a killed launcher.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	tail *tail
	wg   sync.WaitGroup
}

// output is where a process's lines go: the console (prefixed) and/or a log file (raw), per destination.
type output struct {
	console io.Writer
	file    io.Writer
	prefix  string
}

func startProc(name, dir, path string, args, env []string, out output) (*proc, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), tail: newTail(200)}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, path, err)
	}
	p.wg.Add(1)
	go p.pump(stdout, out)
	go func() {
		p.wg.Wait()
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pump(r io.Reader, out output) {
	defer p.wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		p.tail.add(line)
		if out.file != nil {
			fmt.Fprintln(out.file, line)
		}
		if out.console != nil {
			fmt.Fprintln(out.console, out.prefix+line)
		}
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitErr describes how the process ended, for error messages.
func (p *proc) exitErr() error {
	if p.err == nil {
		return errors.New("exited with status 0")
	}
	return p.err
}

// stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs whatever is left.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// The leader is gone; make sure nothing it spawned lingers in its group.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// tail keeps the last lines a process printed, for failure reports.
type tail struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tail) last(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n > len(t.lines) {
		n = len(t.lines)
	}
	return append([]string(nil), t.lines[len(t.lines)-n:]...)
}

// logFile opens <dir>/<id>_<kind>_<timestamp>.log, the CLI's naming.
func logFile(dir, id, kind string, at time.Time) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.Create(fmt.Sprintf("%s/%s_%s_%s.log", dir, id, kind, at.Format("20060102150405")))
}
