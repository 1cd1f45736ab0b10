package launcher

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// DaprdArgs is the daprd command line the Dapr CLI 1.18 builds for s, in the CLI's order, except that the
// placement and scheduler addresses are passed only when the run file names them (see the package comment).
func (s Spec) DaprdArgs() []string {
	var args []string
	add := func(flag string, value any) { args = append(args, flag, fmt.Sprint(value)) }
	if s.ConfigFile != "" {
		add("--config", s.ConfigFile)
	}
	add("--app-protocol", s.Protocol)
	if s.LogLevel != "" {
		add("--log-level", s.LogLevel)
	}
	maxConcurrency := s.MaxConcurrency
	if maxConcurrency < 1 {
		maxConcurrency = -1
	}
	add("--app-max-concurrency", maxConcurrency)
	for _, p := range s.ResourcesPaths {
		add("--resources-path", p)
	}
	if s.HealthCheck {
		args = append(args, "--enable-app-health-check")
	}
	if s.HealthPath != "" {
		add("--app-health-check-path", s.HealthPath)
	}
	if s.HealthInterval != 0 {
		add("--app-health-probe-interval", s.HealthInterval)
	}
	if s.HealthTimeout != 0 {
		add("--app-health-probe-timeout", s.HealthTimeout)
	}
	if s.HealthThreshold != 0 {
		add("--app-health-threshold", s.HealthThreshold)
	}
	if s.APILogging {
		args = append(args, "--enable-api-logging")
	}
	add("--app-id", s.ID)
	add("--app-port", s.AppPort)
	add("--dapr-http-port", s.DaprHTTPPort)
	add("--dapr-grpc-port", s.DaprGRPCPort)
	add("--metrics-port", s.MetricsPort)
	add("--dapr-internal-grpc-port", s.DaprInternalGRPCPort)
	if s.PlacementHostAddress != "" {
		add("--placement-host-address", s.PlacementHostAddress)
	}
	if s.SchedulerHostAddress != "" {
		add("--scheduler-host-address", s.SchedulerHostAddress)
	}
	return args
}

// AppEnv is the environment the CLI gives the app: the inherited environment, then the injected variables,
// then the run file's env (last value wins, as with exec).
func (s Spec) AppEnv(inherited []string) []string {
	env := append([]string(nil), inherited...)
	env = append(env,
		"APP_ID="+s.ID,
		"APP_CHANNEL_ADDRESS=",
		"APP_PORT="+strconv.Itoa(s.AppPort),
		"DAPR_HTTP_PORT="+strconv.Itoa(s.DaprHTTPPort),
		"DAPR_GRPC_PORT="+strconv.Itoa(s.DaprGRPCPort),
		"DAPR_METRICS_PORT="+strconv.Itoa(s.MetricsPort),
		"APP_PROTOCOL="+s.Protocol,
	)
	for k, v := range s.Env {
		env = append(env, k+"="+v)
	}
	return env
}

// assignPorts gives every unset port (≤0), or every port when fresh is true, a free one. The app port of an
// app the launcher does not start itself (no command) belongs to that app and is kept.
func (s *Spec) assignPorts(fresh bool) error {
	ports := []*int{&s.DaprHTTPPort, &s.DaprGRPCPort, &s.DaprInternalGRPCPort, &s.MetricsPort}
	if len(s.Command) > 0 || s.AppPort <= 0 {
		ports = append(ports, &s.AppPort)
	}
	for _, p := range ports {
		if *p > 0 && !fresh {
			continue
		}
		port, err := FreePort()
		if err != nil {
			return err
		}
		*p = port
	}
	if _, ok := s.Env[OpsPortVar]; ok && fresh {
		port, err := FreePort()
		if err != nil {
			return err
		}
		s.Env[OpsPortVar] = strconv.Itoa(port)
	}
	return nil
}

// Ports handed out by FreePort come from below Linux's default ephemeral range (32768-60999). The kernel's
// own pick ("port 0") would come from inside it, where every outgoing connection of every process also takes
// its local port, and a port freed for daprd could be taken again before daprd binds it.
const (
	freePortLow  = 20000
	freePortHigh = 32768
)

var (
	portMu   sync.Mutex
	portNext = freePortLow + rand.IntN(freePortHigh-freePortLow)
	portUsed = map[int]bool{}
)

// FreePort returns a TCP port nothing listens on, never the same twice in one process.
func FreePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for tries := 0; tries < freePortHigh-freePortLow; tries++ {
		p := portNext
		portNext++
		if portNext >= freePortHigh {
			portNext = freePortLow
		}
		if portUsed[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		portUsed[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("no free TCP port between %d and %d", freePortLow, freePortHigh)
}

// OpsPortVar is the app setting (an env entry in the run file) naming the app's internal ops port, where it
// answers /readyz with the reasons a check fails. The Dapr CLI knows nothing of it; the launcher waits for
// readiness there and, when it assigns free ports, gives the ops port a free one too.
const OpsPortVar = "OPS_PORT"

// OpsPort is the app's ops port, or 0 when its env sets none (or not a number).
func (s Spec) OpsPort() int {
	p, _ := strconv.Atoi(s.Env[OpsPortVar])
	return p
}

// portsInUse lists the spec's ports something already listens on, so a second `make run` fails with a clear
// message instead of two half-started systems.
func (s Spec) portsInUse() []string {
	var busy []string
	for name, p := range map[string]int{
		"appPort": s.AppPort, "daprHTTPPort": s.DaprHTTPPort, "daprGRPCPort": s.DaprGRPCPort,
		"daprInternalGRPCPort": s.DaprInternalGRPCPort, "metricsPort": s.MetricsPort, "env " + OpsPortVar: s.OpsPort(),
	} {
		if p == 0 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(p)))
		if err != nil {
			busy = append(busy, fmt.Sprintf("%s %d", name, p))
			continue
		}
		l.Close()
	}
	return busy
}
