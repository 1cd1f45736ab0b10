// Package launcher runs orderflow the way `dapr run -f .` does, for machines without the Dapr CLI and for the
// integration tests: it reads the same dapr.yaml (the fields the project uses, with the CLI's meaning),
// starts one daprd per app with the flags the CLI passes and each app with the environment the CLI injects,
// prefixes their output with the app id, waits until every sidecar and app is ready, and stops everything
// gracefully. `make run` (tools/run) and the test harness (tests/harness) share this one implementation.
//
// Deliberate differences from the CLI 1.18: it waits for readiness (the CLI starts the apps one after another
// without waiting), it never defaults the placement and scheduler addresses (the CLI points daprd at
// localhost:50005 and :50006 unless the run file says otherwise; orderflow's dapr.yaml turns both off, as it
// uses no actors, workflows or Jobs API), and a `go run <pkg>` command is built once and the binary executed,
// so no `go` process sits between the launcher and the app.
package launcher

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RunFile is a Dapr multi-app run template (dapr.yaml), version 1.
type RunFile struct {
	Version int          `yaml:"version"`
	Name    string       `yaml:"name"`
	Common  Shared       `yaml:"common"`
	Apps    []RunFileApp `yaml:"apps"`
}

// Shared holds the fields allowed both in common and per app. An app's zero value takes common's, like the
// CLI's merge; env is merged per key, the app's keys winning.
type Shared struct {
	ConfigFilePath         string            `yaml:"configFilePath"`
	AppProtocol            string            `yaml:"appProtocol"`
	LogLevel               string            `yaml:"logLevel"`
	ResourcesPath          string            `yaml:"resourcesPath"`
	ResourcesPaths         []string          `yaml:"resourcesPaths"`
	AppMaxConcurrency      int               `yaml:"appMaxConcurrency"`
	EnableAppHealthCheck   bool              `yaml:"enableAppHealthCheck"`
	AppHealthCheckPath     string            `yaml:"appHealthCheckPath"`
	AppHealthProbeInterval int               `yaml:"appHealthProbeInterval"`
	AppHealthProbeTimeout  int               `yaml:"appHealthProbeTimeout"`
	AppHealthThreshold     int               `yaml:"appHealthThreshold"`
	EnableAPILogging       bool              `yaml:"enableApiLogging"`
	Env                    map[string]string `yaml:"env"`
	DaprdLogDestination    string            `yaml:"daprdLogDestination"`
	AppLogDestination      string            `yaml:"appLogDestination"`
	// PlacementHostAddress follows the CLI: omitted means the CLI's default, empty disables the actor
	// placement client (orderflow uses no actors or workflows), anything else is passed on.
	PlacementHostAddress *string `yaml:"placementHostAddress"`
	// SchedulerHostAddress likewise; the CLI trims it, so " " is how a run file turns the scheduler client off
	// (the CLI 1.18 replaces an empty value with its default, localhost:50006).
	SchedulerHostAddress *string `yaml:"schedulerHostAddress"`
}

// RunFileApp is one entry of apps.
type RunFileApp struct {
	Shared               `yaml:",inline"`
	AppID                string   `yaml:"appID"`
	AppDirPath           string   `yaml:"appDirPath"`
	AppPort              int      `yaml:"appPort"`
	DaprHTTPPort         int      `yaml:"daprHTTPPort"`
	DaprGRPCPort         int      `yaml:"daprGRPCPort"`
	DaprInternalGRPCPort int      `yaml:"daprInternalGRPCPort"`
	MetricsPort          int      `yaml:"metricsPort"`
	Command              []string `yaml:"command"`
}

// Log destinations, as in the CLI.
const (
	LogConsole        = "console"
	LogFile           = "file"
	LogFileAndConsole = "fileAndConsole"
)

// Spec is one app fully resolved: absolute paths, merged settings, defaults applied.
type Spec struct {
	ID                   string
	Dir                  string
	AppPort              int
	DaprHTTPPort         int
	DaprGRPCPort         int
	DaprInternalGRPCPort int
	MetricsPort          int
	Command              []string
	ResourcesPaths       []string
	ConfigFile           string
	Protocol             string
	LogLevel             string
	MaxConcurrency       int
	HealthCheck          bool
	HealthPath           string
	HealthInterval       int
	HealthTimeout        int
	HealthThreshold      int
	APILogging           bool
	Env                  map[string]string
	DaprdLogDestination  string
	AppLogDestination    string
	PlacementHostAddress string
	SchedulerHostAddress string
}

// Load reads and resolves the run file at path.
func Load(path string) ([]Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading run file: %w", err)
	}
	var rf RunFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("%s: %w (the orderflow launcher supports the run-template fields listed in internal/launcher/runfile.go)", path, err)
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return resolve(rf, base, path)
}

func resolve(rf RunFile, base, path string) ([]Spec, error) {
	if rf.Version == 0 {
		return nil, fmt.Errorf("%s: required field 'version' not found", path)
	}
	if len(rf.Apps) == 0 {
		return nil, fmt.Errorf("%s: no apps to run", path)
	}
	commonResources, err := absPaths(base, append(rf.Common.ResourcesPaths, nonEmpty(rf.Common.ResourcesPath)...))
	if err != nil {
		return nil, fmt.Errorf("%s: common: %w", path, err)
	}
	commonConfig, err := absPaths(base, nonEmpty(rf.Common.ConfigFilePath))
	if err != nil {
		return nil, fmt.Errorf("%s: common: %w", path, err)
	}

	specs := make([]Spec, 0, len(rf.Apps))
	seen := map[string]bool{}
	for i, a := range rf.Apps {
		if a.AppDirPath == "" {
			return nil, fmt.Errorf("%s: apps[%d]: required field 'appDirPath' not found", path, i)
		}
		dirs, err := absPaths(base, []string{a.AppDirPath})
		if err != nil {
			return nil, fmt.Errorf("%s: apps[%d]: %w", path, i, err)
		}
		dir := dirs[0]
		id := a.AppID
		if id == "" {
			id = filepath.Base(dir)
		}
		if seen[id] {
			return nil, fmt.Errorf("%s: app id %q appears twice", path, id)
		}
		seen[id] = true

		resources, err := absPaths(dir, append(a.ResourcesPaths, nonEmpty(a.ResourcesPath)...))
		if err != nil {
			return nil, fmt.Errorf("%s: app %s: %w", path, id, err)
		}
		if len(resources) == 0 {
			if local := filepath.Join(dir, ".dapr", "resources"); isDir(local) {
				resources = []string{local}
			} else {
				resources = commonResources
			}
		}
		if len(resources) == 0 {
			return nil, fmt.Errorf("%s: app %s has no resourcesPaths (set common.resourcesPaths)", path, id)
		}
		config, err := absPaths(dir, nonEmpty(a.ConfigFilePath))
		if err != nil {
			return nil, fmt.Errorf("%s: app %s: %w", path, id, err)
		}
		if len(config) == 0 {
			config = commonConfig
		}

		s := merge(a.Shared, rf.Common)
		spec := Spec{
			ID: id, Dir: dir, AppPort: a.AppPort,
			DaprHTTPPort: a.DaprHTTPPort, DaprGRPCPort: a.DaprGRPCPort,
			DaprInternalGRPCPort: a.DaprInternalGRPCPort, MetricsPort: a.MetricsPort,
			Command: a.Command, ResourcesPaths: resources,
			Protocol: strings.ToLower(cmp.Or(s.AppProtocol, "http")), LogLevel: s.LogLevel,
			MaxConcurrency: s.AppMaxConcurrency, HealthCheck: s.EnableAppHealthCheck, HealthPath: s.AppHealthCheckPath,
			HealthInterval: s.AppHealthProbeInterval, HealthTimeout: s.AppHealthProbeTimeout,
			HealthThreshold: s.AppHealthThreshold, APILogging: s.EnableAPILogging, Env: s.Env,
			DaprdLogDestination: cmp.Or(s.DaprdLogDestination, LogFile),
			AppLogDestination:   cmp.Or(s.AppLogDestination, LogFileAndConsole),
		}
		if s.PlacementHostAddress != nil {
			spec.PlacementHostAddress = strings.TrimSpace(*s.PlacementHostAddress)
		}
		if s.SchedulerHostAddress != nil {
			spec.SchedulerHostAddress = strings.TrimSpace(*s.SchedulerHostAddress)
		}
		if len(config) > 0 {
			spec.ConfigFile = config[0]
		}
		if spec.Protocol != "http" && spec.Protocol != "h2c" {
			return nil, fmt.Errorf("%s: app %s: appProtocol %q: orderflow's apps speak http or h2c", path, id, spec.Protocol)
		}
		if spec.AppPort <= 0 {
			return nil, fmt.Errorf("%s: app %s: appPort is required (the launcher waits on it)", path, id)
		}
		for _, d := range []string{spec.DaprdLogDestination, spec.AppLogDestination} {
			if d != LogConsole && d != LogFile && d != LogFileAndConsole {
				return nil, fmt.Errorf("%s: app %s: invalid log destination type: %s", path, id, d)
			}
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// merge fills app's zero fields from common and merges env per key.
func merge(app, common Shared) Shared {
	out := app
	if out.ConfigFilePath == "" {
		out.ConfigFilePath = common.ConfigFilePath
	}
	if out.AppProtocol == "" {
		out.AppProtocol = common.AppProtocol
	}
	if out.LogLevel == "" {
		out.LogLevel = common.LogLevel
	}
	if out.AppMaxConcurrency == 0 {
		out.AppMaxConcurrency = common.AppMaxConcurrency
	}
	out.EnableAppHealthCheck = out.EnableAppHealthCheck || common.EnableAppHealthCheck
	if out.AppHealthCheckPath == "" {
		out.AppHealthCheckPath = common.AppHealthCheckPath
	}
	if out.AppHealthProbeInterval == 0 {
		out.AppHealthProbeInterval = common.AppHealthProbeInterval
	}
	if out.AppHealthProbeTimeout == 0 {
		out.AppHealthProbeTimeout = common.AppHealthProbeTimeout
	}
	if out.AppHealthThreshold == 0 {
		out.AppHealthThreshold = common.AppHealthThreshold
	}
	out.EnableAPILogging = out.EnableAPILogging || common.EnableAPILogging
	if out.PlacementHostAddress == nil {
		out.PlacementHostAddress = common.PlacementHostAddress
	}
	if out.SchedulerHostAddress == nil {
		out.SchedulerHostAddress = common.SchedulerHostAddress
	}
	if out.DaprdLogDestination == "" {
		out.DaprdLogDestination = common.DaprdLogDestination
	}
	if out.AppLogDestination == "" {
		out.AppLogDestination = common.AppLogDestination
	}
	env := map[string]string{}
	for k, v := range common.Env {
		env[k] = v
	}
	for k, v := range app.Env {
		env[k] = v
	}
	out.Env = env
	return out
}

func absPaths(base string, paths []string) ([]string, error) {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if strings.HasPrefix(p, "~/") {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, err
			}
			p = filepath.Join(home, p[2:])
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, filepath.Clean(p))
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("path %s: %w", p, errors.Unwrap(err))
		}
		out = append(out, p)
	}
	return out, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// UseProfile points every spec at components/<profile> instead of the profile folder dapr.yaml names (any
// folder under componentsDir other than shared), which is what switching profiles by editing dapr.yaml does.
func UseProfile(specs []Spec, componentsDir, profile string) error {
	// Load made the specs' paths absolute, so the folder they are compared with must be too.
	componentsDir, err := filepath.Abs(componentsDir)
	if err != nil {
		return fmt.Errorf("components folder %s: %w", componentsDir, err)
	}
	target := filepath.Join(componentsDir, profile)
	if !isDir(target) || profile == "shared" || profile == "secrets" {
		return fmt.Errorf("no component profile %q (a folder under %s)", profile, componentsDir)
	}
	switched := 0
	for i := range specs {
		for j, p := range specs[i].ResourcesPaths {
			if filepath.Dir(p) == componentsDir && filepath.Base(p) != "shared" {
				specs[i].ResourcesPaths[j] = target
				switched++
			}
		}
	}
	if switched == 0 {
		return fmt.Errorf("profile %q: no app loads its components from a profile folder under %s", profile, componentsDir)
	}
	return nil
}
