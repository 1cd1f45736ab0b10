package tests

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// chaosMail counts, with inotify, every time a file of the mail folder is written and closed. The local
// e-mail binding rewrites <order>-<event>.eml on every send, so the folder alone cannot tell one e-mail from
// two; the count of writes can.
type chaosMail struct {
	dir      string
	fd       int
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	writes   map[string]int
	first    map[string]time.Time
	last     map[string]time.Time
	overflow bool
}

func chaosWatchMail(t *testing.T, dataDir string) *chaosMail {
	t.Helper()
	dir := filepath.Join(dataDir, "mail")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	require.NoError(t, err)
	_, err = syscall.InotifyAddWatch(fd, dir, syscall.IN_CLOSE_WRITE)
	require.NoError(t, err)
	m := &chaosMail{dir: dir, fd: fd, stop: make(chan struct{}), done: make(chan struct{}),
		writes: map[string]int{}, first: map[string]time.Time{}, last: map[string]time.Time{}}
	go m.read()
	t.Cleanup(m.close)
	return m
}

func (m *chaosMail) read() {
	defer close(m.done)
	buf := make([]byte, 64*1024)
	for {
		n, err := syscall.Read(m.fd, buf)
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
			select {
			case <-m.stop:
				return
			case <-time.After(20 * time.Millisecond):
				continue
			}
		}
		if err != nil || n <= 0 {
			return
		}
		now := time.Now()
		m.mu.Lock()
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := string(bytes.TrimRight(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)], "\x00"))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&syscall.IN_Q_OVERFLOW != 0 {
				m.overflow = true
				continue
			}
			if name == "" {
				continue
			}
			if m.writes[name] == 0 {
				m.first[name] = now
			}
			m.writes[name]++
			m.last[name] = now
		}
		m.mu.Unlock()
	}
}

// snapshot returns the writes per file name, when each file was first written, and whether events were lost.
func (m *chaosMail) snapshot() (writes map[string]int, first, last map[string]time.Time, reliable bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	writes, first, last = map[string]int{}, map[string]time.Time{}, map[string]time.Time{}
	for k, v := range m.writes {
		writes[k], first[k], last[k] = v, m.first[k], m.last[k]
	}
	return writes, first, last, !m.overflow
}

func (m *chaosMail) close() {
	select {
	case <-m.stop:
		return
	default:
	}
	close(m.stop)
	<-m.done
	_ = syscall.Close(m.fd)
}
