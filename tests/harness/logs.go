package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AwaitAppLog waits until a line of app's own log (not its sidecar's) contains every one of parts, and fails
// the test at the deadline. It lets a test wait for something that leaves no other trace — a delivery that
// found nothing left to do — instead of sleeping for as long as it might take.
func (s *System) AwaitAppLog(t testing.TB, app string, timeout time.Duration, parts ...string) {
	t.Helper()
	pattern := filepath.Join(s.logDir, s.AppID(app)+"_app_*.log")
	deadline := time.Now().Add(timeout)
	for {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(raw), "\n") {
				if containsAll(line, parts) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line of %s's log contains %q after %s", app, parts, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func containsAll(line string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(line, p) {
			return false
		}
	}
	return true
}
