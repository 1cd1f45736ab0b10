// Command orders is the orders service: the public order API and the keeper of every order's status, driven
// by the events the other services publish. See apps/orders/order for the domain.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"

	"orderflow/apps/orders/api"
	"orderflow/apps/orders/order"
	"orderflow/internal/platform/config"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
	"orderflow/internal/platform/web"
)

// Config is the orders service's configuration.
type Config struct {
	service.Config
	StateStore string `env:"STATESTORE_NAME" envDefault:"orders-store"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate()}
	if c.StateStore == "" {
		errs = append(errs, errors.New("STATESTORE_NAME must not be empty"))
	}
	return errors.Join(errs...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("orders", 8080)}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	return service.Run(ctx, service.App{
		Config: cfg,
		Base:   cfg.Config,
		Setup: func(_ context.Context, d *service.Deps) ([]web.Check, error) {
			svc := order.NewService(
				daprx.NewStore[order.Order](d.Dapr, cfg.StateStore),
				daprx.NewStore[order.Claim](d.Dapr, cfg.StateStore),
				daprx.NewStore[order.CustomerIndex](d.Dapr, cfg.StateStore),
				d.Publisher,
				time.Now,
				uuid.NewString,
			)
			api.Register(d.Engine, d.Events, svc)
			return nil, nil
		},
	})
}
