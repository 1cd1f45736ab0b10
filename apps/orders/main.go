// Command orders is the orders service: the public order API and the keeper of every order's status, driven
// by the events the other services publish. See apps/orders/order for the domain.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"orderflow/apps/orders/api"
	"orderflow/apps/orders/order"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the orders service's configuration.
type Config struct {
	service.Config
	// Auth names the identity provider whose bearer tokens the public API accepts.
	Auth       auth.Config
	StateStore string `env:"STATESTORE_NAME,notEmpty" envDefault:"orders-store"`
	// SLABinding is the cron input binding that triggers the sweep of orders past their SLA.
	SLABinding string `env:"SLA_BINDING,notEmpty" envDefault:"order-sla"`
	// OrderSLA is how long an open order may go without a change before the sweep re-drives it. It must
	// outlast an ordinary saga and the sidecar's delivery retries (about a minute), or healthy orders are
	// re-driven for nothing (harmless, but noisy).
	OrderSLA time.Duration `env:"ORDER_SLA" envDefault:"2m"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate(), c.Auth.Validate()}
	if c.OrderSLA < time.Second {
		errs = append(errs, fmt.Errorf("ORDER_SLA must be at least 1s, got %s", c.OrderSLA))
	}
	return errors.Join(errs...)
}

func main() { service.Main("orders", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("orders", 8080, 9180)}
	return service.Serve(ctx, &cfg, func(_ context.Context, d *service.Deps) error {
		d.Uses(cfg.StateStore, cfg.SLABinding)
		verifier, err := auth.New(cfg.Auth)
		if err != nil {
			return err
		}
		svc := order.NewService(
			daprx.NewStore[order.Order](d.Dapr, cfg.StateStore),
			daprx.NewStore[order.Claim](d.Dapr, cfg.StateStore),
			daprx.NewStore[order.CustomerIndex](d.Dapr, cfg.StateStore),
			daprx.NewStore[order.OpenShard](d.Dapr, cfg.StateStore),
			d.Publisher,
			cfg.OrderSLA,
			time.Now,
			uuid.NewString,
		)
		api.Register(d.Engine, d.Events, svc, cfg.SLABinding, verifier.Require())
		return nil
	})
}
