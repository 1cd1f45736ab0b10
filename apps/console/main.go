// Command console is the operations console: web pages that show the saga live — a board of orders moving
// through their statuses, each order's timeline, stock, dead letters and stuck orders, the health of every
// service — and let people place orders and operators replay or discard dead letters. It follows the saga
// through its own subscriptions to the saga's topics, keeps its read model in its own state store
// (console-store), reaches the other services only through Dapr service invocation with the signed-in
// person's token, and logs people in with the identity provider the APIs trust. See apps/console/board.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"orderflow/apps/console/api"
	"orderflow/apps/console/board"
	"orderflow/apps/console/login"
	"orderflow/apps/console/services"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the console's configuration.
type Config struct {
	service.Config
	// Auth names the identity provider: the console logs people in there, and checks their API token as the
	// services do.
	Auth  auth.Config
	OIDC  login.Config
	Apps  services.Apps
	Store string `env:"STATESTORE_NAME,notEmpty" envDefault:"console-store"`
	// URL is where browsers reach the console; the identity provider sends them back to URL/callback, which
	// must be registered with it. Unset: http://127.0.0.1:APP_PORT.
	URL string `env:"CONSOLE_URL"`
	// TraceURL links an order to its trace: a URL with {traceId} in it, such as
	// http://localhost:16686/trace/{traceId} for Jaeger. Unset: no link.
	TraceURL  string `env:"TRACE_URL"`
	BoardSize int    `env:"BOARD_SIZE" envDefault:"200"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate(), c.Auth.Validate(), c.OIDC.Validate()}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("CONSOLE_URL must be the console's base URL, such as https://console.example.com, got %q", c.URL))
		} else if u.Scheme == "http" && !loopback(u.Hostname()) {
			// The session cookie is Secure: browsers keep it over plain http only for this machine.
			errs = append(errs, fmt.Errorf("CONSOLE_URL must use https (http is allowed only on localhost), got %q", c.URL))
		}
	}
	if c.TraceURL != "" && !strings.Contains(c.TraceURL, "{traceId}") {
		errs = append(errs, fmt.Errorf("TRACE_URL must contain {traceId}, got %q", c.TraceURL))
	}
	if c.BoardSize < 1 || c.BoardSize > board.MaxBoard {
		errs = append(errs, fmt.Errorf("BOARD_SIZE must be between 1 and %d, got %d", board.MaxBoard, c.BoardSize))
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func main() { service.Main("console", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("console", 8087, 9187)}
	return service.Serve(ctx, &cfg, func(ctx context.Context, d *service.Deps) error {
		d.Uses(cfg.Store)
		verifier, err := auth.New(cfg.Auth)
		if err != nil {
			return err
		}
		base := strings.TrimSuffix(cfg.URL, "/")
		if base == "" {
			base = fmt.Sprintf("http://127.0.0.1:%d", cfg.Port)
		}
		provider, err := login.NewProvider(cfg.OIDC, cfg.Auth.Issuer, base+"/callback", verifier)
		if err != nil {
			return err
		}
		b, err := board.NewService(daprx.NewStore[board.Order](d.Dapr, cfg.Store), daprx.NewStore[board.Shard](d.Dapr, cfg.Store),
			cfg.BoardSize, time.Now)
		if err != nil {
			return err
		}
		// Before the app listens, so no delivery is applied to a board that is still loading.
		retry := func(err error) bool {
			d.Log.WithError(err).Debug("loading the board; retrying")
			return true
		}
		if err := daprx.AwaitSidecar(ctx, retry, b.Load); err != nil {
			return fmt.Errorf("loading the board from %s: %w", cfg.Store, err)
		}
		invoker := daprx.NewServiceInvoker(&http.Client{Timeout: 10 * time.Second}, cfg.DaprHTTPPort, cfg.DaprAPIToken)
		health := append(cfg.Apps.All(), services.App{Name: "console", ID: cfg.AppID})
		d.Log.WithField("url", base).Info("the console is at this URL")
		return api.Register(ctx, d.Engine, d.Events, api.Deps{
			Board:    b,
			Services: services.New(invoker, cfg.Apps),
			Health:   health,
			Login:    provider,
			Sessions: login.NewSessions(daprx.NewStore[login.Session](d.Dapr, cfg.Store), daprx.NewStore[login.Pending](d.Dapr, cfg.Store), time.Now),
			TraceURL: cfg.TraceURL,
			Now:      time.Now,
			Done:     ctx.Done(),
		})
	})
}
