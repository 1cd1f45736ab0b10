// Package service is the lifecycle every orderflow app shares, so each main.go stays a few lines: load and
// log the configuration, connect to the sidecar, build the gin engine with health and event routes, serve
// with timeouts, and on SIGTERM shut the server down within a deadline and close the Dapr client.
package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"orderflow/internal/platform/config"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/failpoint"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Main runs run with a context that SIGINT or SIGTERM cancels, and exits with status 1, naming the app, when
// run fails. It is all an app's main function does.
func Main(app string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, app+":", err)
		os.Exit(1)
	}
}

// Config is the part of every app's configuration the platform owns. Apps embed it and pre-fill AppID, Port
// and OpsPort with their own defaults before loading; the Dapr CLI and the launcher inject APP_ID, APP_PORT,
// DAPR_HTTP_PORT and DAPR_GRPC_PORT, and dapr.yaml sets OPS_PORT.
type Config struct {
	AppID string `env:"APP_ID"`
	Host  string `env:"APP_HOST" envDefault:"127.0.0.1"`
	Port  int    `env:"APP_PORT"`
	// OpsHost and OpsPort are the internal ops listener: /healthz, and /readyz with the reasons a check fails.
	// It is for the launcher, probes and operators, never for customers (Kubernetes exposes no Service for it).
	OpsHost         string        `env:"OPS_HOST" envDefault:"127.0.0.1"`
	OpsPort         int           `env:"OPS_PORT"`
	DaprHTTPPort    int           `env:"DAPR_HTTP_PORT" envDefault:"3500"`
	DaprGRPCPort    int           `env:"DAPR_GRPC_PORT" envDefault:"50001"`
	DaprAPIToken    string        `env:"DAPR_API_TOKEN" secret:"true"`
	AppAPIToken     string        `env:"APP_API_TOKEN" secret:"true"`
	PubSub          string        `env:"PUBSUB_NAME,notEmpty" envDefault:"pubsub"`
	TopicPrefix     string        `env:"TOPIC_PREFIX"`
	LogFormat       string        `env:"LOG_FORMAT" envDefault:"text"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`
}

// Defaults returns a Config pre-filled with an app's own id, port and ops port, to be overridden by the
// environment.
func Defaults(appID string, port, opsPort int) Config {
	return Config{AppID: appID, Port: port, OpsPort: opsPort}
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	var errs []error
	ports := map[string]int{"APP_PORT": c.Port, "OPS_PORT": c.OpsPort, "DAPR_HTTP_PORT": c.DaprHTTPPort, "DAPR_GRPC_PORT": c.DaprGRPCPort}
	for _, name := range slices.Sorted(maps.Keys(ports)) {
		if port := ports[name]; port < 1 || port > 65535 {
			errs = append(errs, fmt.Errorf("%s must be a TCP port (1-65535), got %d", name, port))
		}
	}
	for _, own := range []string{"APP_PORT", "OPS_PORT"} {
		if p := ports[own]; p == c.DaprHTTPPort || p == c.DaprGRPCPort {
			errs = append(errs, fmt.Errorf("%s %d collides with the sidecar's DAPR_HTTP_PORT/DAPR_GRPC_PORT", own, p))
		}
	}
	if c.Port == c.OpsPort {
		errs = append(errs, fmt.Errorf("OPS_PORT %d must differ from APP_PORT", c.OpsPort))
	}
	if c.AppID == "" {
		errs = append(errs, errors.New("APP_ID must not be empty"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("SHUTDOWN_TIMEOUT must be positive"))
	}
	return errors.Join(errs...)
}

// Deps is what an app's setup function wires its domain to.
type Deps struct {
	Config    Config
	Log       *logrus.Entry
	Dapr      dapr.Client
	Engine    *gin.Engine
	Events    *subscriber.Router
	Publisher *daprx.Publisher
	// Uses declares Dapr components the app needs besides the pub/sub; /readyz checks the sidecar loaded them.
	Uses func(components ...string)
}

// AppConfig is an app's whole configuration: a pointer to a struct that embeds Config.
type AppConfig interface {
	// platform is promoted from the embedded Config, so only such a struct satisfies AppConfig.
	platform() *Config
}

func (c *Config) platform() *Config { return c }

// Serve loads cfg from the environment, runs setup, and serves the app until ctx is cancelled (SIGTERM/SIGINT
// in main), then shuts down gracefully.
func Serve(ctx context.Context, cfg AppConfig, setup func(ctx context.Context, d *Deps) error) error {
	if err := config.Load(cfg); err != nil {
		return err
	}
	base := *cfg.platform()
	logger, err := logging.New(os.Stdout, base.LogFormat, base.LogLevel)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := logger.WithField(logging.FieldApp, base.AppID)
	fields := logrus.Fields{}
	for k, v := range config.Describe(cfg) {
		fields[k] = v
	}
	log.WithFields(fields).Info("starting")
	if err := failpoint.Validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if os.Getenv(failpoint.EnvVar) != "" {
		log.WithField(failpoint.EnvVar, os.Getenv(failpoint.EnvVar)).Warn("failpoints are armed: this process will inject faults")
	}

	return run(ctx, log, base, setup)
}

// run serves the app whose platform configuration is cfg.
func run(ctx context.Context, log *logrus.Entry, cfg Config, setup func(ctx context.Context, d *Deps) error) error {
	client, err := daprx.Connect(cfg.DaprGRPCPort, cfg.DaprAPIToken)
	if err != nil {
		return err
	}
	defer client.Close()

	engine, ops := web.NewEngine(log), web.NewEngine(log)
	components := []string{cfg.PubSub}
	d := &Deps{
		Config:    cfg,
		Log:       log,
		Dapr:      client,
		Engine:    engine,
		Events:    subscriber.NewRouter(engine, cfg.AppAPIToken, cfg.TopicPrefix),
		Publisher: daprx.NewPublisher(client, cfg.PubSub, cfg.TopicPrefix, cfg.AppID),
		Uses:      func(names ...string) { components = append(components, names...) },
	}
	if err := setup(logging.Into(ctx, log), d); err != nil {
		return fmt.Errorf("setting up %s: %w", cfg.AppID, err)
	}
	sidecarHealthy := daprx.SidecarHealthy(&http.Client{Timeout: 2 * time.Second}, cfg.DaprHTTPPort)
	web.RegisterHealth(engine, ops,
		web.Check{Name: "sidecar", Func: sidecarHealthy},
		web.Check{Name: "components", Func: daprx.ComponentsLoaded(client, components)},
		web.Check{Name: "subscriptions", Func: daprx.SubscriptionsRegistered(client, cfg.PubSub, d.Events.Topics(), d.Events.SubscriptionsStarted)},
	)

	srv := newServer(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), engine)
	// HTTP/2 without TLS too, so a sidecar may run with --app-protocol h2c (make bench -app-protocol h2c).
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	opsSrv := newServer(net.JoinHostPort(cfg.OpsHost, strconv.Itoa(cfg.OpsPort)), ops)
	// daprd cannot finish starting before the app listens; if it already has, it was started for an earlier
	// process of this app.
	if sidecarHealthy(ctx) == nil {
		d.Events.SidecarAlreadyRunning()
	}
	return ListenAndServe(ctx, log, cfg.ShutdownTimeout, Listener{srv, "APP_HOST/APP_PORT"}, Listener{opsSrv, "OPS_HOST/OPS_PORT"})
}

func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}

// Listener is a server and the settings that choose its address, which a listen error names.
type Listener struct {
	Server   *http.Server
	Settings string
}

// ListenAndServe serves every listener on its server's Addr until ctx is cancelled or one of them fails, then
// shuts them all down, giving in-flight requests up to shutdownTimeout. It is the serving half of Serve, for a
// process without a sidecar too (apps/cardsim).
func ListenAndServe(ctx context.Context, log *logrus.Entry, shutdownTimeout time.Duration, listeners ...Listener) error {
	serveErr := make(chan error, len(listeners))
	var started []*http.Server
	var runErr error
	for _, l := range listeners {
		ln, err := net.Listen("tcp", l.Server.Addr)
		if err != nil {
			runErr = fmt.Errorf("listening on %s (%s): %w", l.Server.Addr, l.Settings, err)
			break
		}
		started = append(started, l.Server)
		go func() { serveErr <- l.Server.Serve(ln) }()
		log.WithField("addr", l.Server.Addr).Info("listening")
	}

	if runErr == nil {
		select {
		case <-ctx.Done():
			log.Info("shutdown requested")
		case err := <-serveErr:
			runErr = fmt.Errorf("http server: %w", err)
		}
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range started {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.WithError(err).WithField("timeout", shutdownTimeout).Warn("in-flight requests did not finish within the shutdown timeout")
		}
	}
	log.Info("stopped")
	return runErr
}
