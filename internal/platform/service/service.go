// Package service is the lifecycle every orderflow app shares, so each main.go stays a few lines: load and
// log the configuration, connect to the sidecar, build the gin engine with health and event routes, serve
// with timeouts, and on SIGTERM shut the server down within a deadline and close the Dapr client.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
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

// Config is the part of every app's configuration the platform owns. Apps embed it and pre-fill AppID and
// Port with their own defaults before loading; the Dapr CLI and the launcher inject APP_ID, APP_PORT,
// DAPR_HTTP_PORT and DAPR_GRPC_PORT.
type Config struct {
	AppID           string        `env:"APP_ID"`
	Host            string        `env:"APP_HOST" envDefault:"127.0.0.1"`
	Port            int           `env:"APP_PORT"`
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

// Defaults returns a Config pre-filled with an app's own id and port, to be overridden by the environment.
func Defaults(appID string, port int) Config {
	return Config{AppID: appID, Port: port}
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	var errs []error
	for name, port := range map[string]int{"APP_PORT": c.Port, "DAPR_HTTP_PORT": c.DaprHTTPPort, "DAPR_GRPC_PORT": c.DaprGRPCPort} {
		if port < 1 || port > 65535 {
			errs = append(errs, fmt.Errorf("%s must be a TCP port (1-65535), got %d", name, port))
		}
	}
	if c.Port == c.DaprHTTPPort || c.Port == c.DaprGRPCPort {
		errs = append(errs, fmt.Errorf("APP_PORT %d collides with the sidecar's DAPR_HTTP_PORT/DAPR_GRPC_PORT", c.Port))
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
	// Go runs fn for the service's lifetime; its context is cancelled at shutdown, before the Dapr client
	// closes. An error from fn stops the service.
	Go func(fn func(ctx context.Context) error)
	// Uses declares Dapr components the app needs besides the pub/sub; /readyz checks the sidecar loaded them.
	Uses func(components ...string)
}

// App describes one service to Run.
type App struct {
	// Config is the app's whole configuration struct (embedding Config), for the start-up log.
	Config any
	// Base is the platform part of it.
	Base Config
	// Setup registers the app's routes, handlers and background work. Extra readiness checks it returns are
	// added to the sidecar and subscription checks.
	Setup func(ctx context.Context, d *Deps) ([]web.Check, error)
}

// Serve loads cfg (a pointer to the app's whole configuration, of which base is the embedded platform part)
// from the environment, then runs the app with setup.
func Serve(ctx context.Context, cfg any, base *Config, setup func(ctx context.Context, d *Deps) ([]web.Check, error)) error {
	if err := config.Load(cfg); err != nil {
		return err
	}
	return Run(ctx, App{Config: cfg, Base: *base, Setup: setup})
}

// Run serves app until ctx is cancelled (SIGTERM/SIGINT in main), then shuts down gracefully.
func Run(ctx context.Context, app App) error {
	cfg := app.Base
	logger, err := logging.New(os.Stdout, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := logger.WithField(logging.FieldApp, cfg.AppID)
	described := config.Describe(app.Config)
	fields := logrus.Fields{}
	for _, k := range config.Keys(described) {
		fields[k] = described[k]
	}
	log.WithFields(fields).Info("starting")
	if err := failpoint.Validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if os.Getenv(failpoint.EnvVar) != "" {
		log.WithField(failpoint.EnvVar, os.Getenv(failpoint.EnvVar)).Warn("failpoints are armed: this process will inject faults")
	}

	client, err := daprx.Connect(cfg.DaprGRPCPort, cfg.DaprAPIToken)
	if err != nil {
		return err
	}
	defer client.Close()

	bgCtx, stopBackground := context.WithCancel(logging.Into(ctx, log))
	defer stopBackground()
	var bg sync.WaitGroup
	bgErr := make(chan error, 1)

	engine := web.NewEngine(log)
	components := []string{cfg.PubSub}
	d := &Deps{
		Config:    cfg,
		Log:       log,
		Dapr:      client,
		Engine:    engine,
		Events:    subscriber.NewRouter(engine, cfg.AppAPIToken, cfg.TopicPrefix),
		Publisher: daprx.NewPublisher(client, cfg.PubSub, cfg.TopicPrefix, cfg.AppID),
		Uses:      func(names ...string) { components = append(components, names...) },
		Go: func(fn func(ctx context.Context) error) {
			bg.Add(1)
			go func() {
				defer bg.Done()
				if err := fn(bgCtx); err != nil && !errors.Is(err, context.Canceled) {
					select {
					case bgErr <- err:
					default:
					}
				}
			}()
		},
	}
	extra, err := app.Setup(bgCtx, d)
	if err != nil {
		return fmt.Errorf("setting up %s: %w", cfg.AppID, err)
	}
	sidecarHealthy := daprx.SidecarHealthy(&http.Client{Timeout: 2 * time.Second}, cfg.DaprHTTPPort)
	checks := append([]web.Check{
		{Name: "sidecar", Func: sidecarHealthy},
		{Name: "components", Func: daprx.ComponentsLoaded(client, components)},
		{Name: "subscriptions", Func: daprx.SubscriptionsRegistered(client, cfg.PubSub, d.Events.Topics(), d.Events.SubscriptionsStarted)},
	}, extra...)
	web.RegisterHealth(engine, checks...)

	srv := &http.Server{
		Addr:              net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		Handler:           engine,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	// HTTP/2 without TLS too, so a sidecar may run with --app-protocol h2c (make bench -app-protocol h2c).
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	// daprd cannot finish starting before the app listens; if it already has, it was started for an earlier
	// process of this app.
	if sidecarHealthy(ctx) == nil {
		d.Events.SidecarAlreadyRunning()
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s (APP_HOST/APP_PORT): %w", srv.Addr, err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.WithField("addr", srv.Addr).Info("listening")

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutdown requested")
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-bgErr:
		runErr = fmt.Errorf("background task: %w", err)
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.WithError(err).Warn("in-flight requests did not finish before SHUTDOWN_TIMEOUT")
	}
	stopBackground()
	bg.Wait()
	log.Info("stopped")
	return runErr
}
