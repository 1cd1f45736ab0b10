// Package failpoint injects faults at named points of the services, for resilience tests: the integration
// tests crash a service between a state write and its publish, or slow one down to force a race, and check
// the saga still ends correctly. Failpoints are configured by one environment variable and are inert when it
// is unset, which is how every real deployment runs.
//
//	FAILPOINTS="inventory.after-reserve=crash;shipping.before-dispatch=sleep(2s)"
//
// Actions: crash (exit the process at once with status 86, as a kill would, without any cleanup) and
// sleep(<duration>).
package failpoint

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// EnvVar configures the failpoints.
const EnvVar = "FAILPOINTS"

// CrashStatus is the exit status of a crash action, so a test can tell it from a real failure.
const CrashStatus = 86

type action struct {
	crash bool
	sleep time.Duration
}

var (
	once    sync.Once
	actions map[string]action
	loadErr error
)

// Validate parses FAILPOINTS, so a typo stops the service at start rather than silently injecting nothing.
func Validate() error {
	load()
	return loadErr
}

func load() {
	once.Do(func() {
		actions = map[string]action{}
		for _, spec := range strings.Split(os.Getenv(EnvVar), ";") {
			spec = strings.TrimSpace(spec)
			if spec == "" {
				continue
			}
			name, act, ok := strings.Cut(spec, "=")
			if !ok || name == "" {
				loadErr = fmt.Errorf("%s: %q is not name=action", EnvVar, spec)
				return
			}
			switch {
			case act == "crash":
				actions[name] = action{crash: true}
			case strings.HasPrefix(act, "sleep(") && strings.HasSuffix(act, ")"):
				d, err := time.ParseDuration(strings.TrimSuffix(strings.TrimPrefix(act, "sleep("), ")"))
				if err != nil {
					loadErr = fmt.Errorf("%s: %q: %w", EnvVar, spec, err)
					return
				}
				actions[name] = action{sleep: d}
			default:
				loadErr = fmt.Errorf("%s: %q: unknown action (want crash or sleep(<duration>))", EnvVar, spec)
				return
			}
		}
	})
}

// Inject runs the action configured for name, if any.
func Inject(ctx context.Context, name string) {
	load()
	a, ok := actions[name]
	if !ok {
		return
	}
	if a.crash {
		fmt.Fprintf(os.Stderr, "failpoint %s: crashing\n", name)
		os.Exit(CrashStatus)
	}
	select {
	case <-ctx.Done():
	case <-time.After(a.sleep):
	}
}
