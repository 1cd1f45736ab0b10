//go:build !linux

package tests

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chaosMail without inotify sees only which files exist, not how often each was written: duplicate sends go
// unnoticed, and the table says so.
type chaosMail struct{ dir string }

func chaosWatchMail(t *testing.T, dataDir string) *chaosMail {
	t.Helper()
	dir := filepath.Join(dataDir, "mail")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return &chaosMail{dir: dir}
}

func (m *chaosMail) snapshot() (writes map[string]int, first map[string]time.Time, reliable bool) {
	writes, first = map[string]int{}, map[string]time.Time{}
	entries, _ := os.ReadDir(m.dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			writes[e.Name()], first[e.Name()] = 1, info.ModTime()
		}
	}
	return writes, first, false
}
