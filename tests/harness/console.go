package harness

import (
	"orderflow/internal/launcher"
)

// ConsoleApp is the operations console's app id in dapr.yaml.
const ConsoleApp = "console"

// withoutConsole is the run's app list: a run of every app leaves the console out unless Options.Console asks
// for it. Measured on the 2-core machine (docs/console.md, "Measured"): the console and its sidecar cost about
// 21 ms of CPU per order (more than notifications' pair), a process pair to start and twelve more consumer
// groups per run, and none of the other tests looks at it.
func withoutConsole(specs []launcher.Spec, opts Options) []string {
	if len(opts.Apps) > 0 || opts.Console {
		return opts.Apps
	}
	var apps []string
	for _, s := range specs {
		if s.ID != ConsoleApp {
			apps = append(apps, s.ID)
		}
	}
	return apps
}

// consoleAppIDs are the settings naming the app ids of the services the console invokes.
var consoleAppIDs = map[string]string{"orders": "ORDERS_APP_ID", "inventory": "INVENTORY_APP_ID", "payments": "PAYMENTS_APP_ID",
	"shipping": "SHIPPING_APP_ID", "notifications": "NOTIFICATIONS_APP_ID", "deadletters": "DEADLETTERS_APP_ID"}

// consoleEnv tells the console the isolated app ids of the services it invokes (a test's own Env wins).
func consoleEnv(env map[string]map[string]string, sys *System) map[string]map[string]string {
	if env == nil {
		env = map[string]map[string]string{}
	}
	console := map[string]string{}
	for app, key := range consoleAppIDs {
		console[key] = sys.AppID(app)
	}
	for k, v := range env[ConsoleApp] {
		console[k] = v
	}
	env[ConsoleApp] = console
	return env
}
