// Command orders is the orders service: the public order API and the keeper of every order's status, driven
// by the events the other services publish. See apps/orders/order for the domain.
package main

import (
	"context"
	"time"

	"github.com/google/uuid"

	"orderflow/apps/orders/api"
	"orderflow/apps/orders/order"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
	"orderflow/internal/platform/web"
)

// Config is the orders service's configuration.
type Config struct {
	service.Config
	StateStore string `env:"STATESTORE_NAME,notEmpty" envDefault:"orders-store"`
}

func main() { service.Main("orders", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("orders", 8080)}
	return service.Serve(ctx, &cfg, &cfg.Config, func(_ context.Context, d *service.Deps) ([]web.Check, error) {
		d.Uses(cfg.StateStore)
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
	})
}
