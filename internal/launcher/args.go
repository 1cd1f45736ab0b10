package launcher

import (
	"fmt"
	"net"
	"strconv"
)

// DaprdArgs is the daprd command line the Dapr CLI 1.14 builds for s, in the CLI's order, minus
// --placement-host-address (see the package comment).
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

// assignPorts gives every unset port (≤0), or every port when fresh is true, a free one.
func (s *Spec) assignPorts(fresh bool) error {
	for _, p := range []*int{&s.AppPort, &s.DaprHTTPPort, &s.DaprGRPCPort, &s.DaprInternalGRPCPort, &s.MetricsPort} {
		if *p > 0 && !fresh {
			continue
		}
		port, err := FreePort()
		if err != nil {
			return err
		}
		*p = port
	}
	return nil
}

// FreePort asks the kernel for an unused TCP port on the loopback interface.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portsInUse lists the spec's ports something already listens on, so a second `make run` fails with a clear
// message instead of two half-started systems.
func (s Spec) portsInUse() []string {
	var busy []string
	for name, p := range map[string]int{
		"appPort": s.AppPort, "daprHTTPPort": s.DaprHTTPPort, "daprGRPCPort": s.DaprGRPCPort,
		"daprInternalGRPCPort": s.DaprInternalGRPCPort, "metricsPort": s.MetricsPort,
	} {
		l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(p)))
		if err != nil {
			busy = append(busy, fmt.Sprintf("%s %d", name, p))
			continue
		}
		l.Close()
	}
	return busy
}
