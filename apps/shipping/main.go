// Command shipping dispatches paid orders — writing a label through the "shipping-labels" output binding —
// and is the one place that decides whether an order can still be stopped. See apps/shipping/shipment.
package main

import (
	"context"
	"time"

	"orderflow/apps/shipping/api"
	"orderflow/apps/shipping/labels"
	"orderflow/apps/shipping/shipment"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the shipping service's configuration.
type Config struct {
	service.Config
	StateStore    string `env:"STATESTORE_NAME,notEmpty" envDefault:"shipping-store"`
	LabelsBinding string `env:"LABELS_BINDING,notEmpty" envDefault:"shipping-labels"`
	Carrier       string `env:"CARRIER,notEmpty" envDefault:"Acme Parcel"`
}

func main() { service.Main("shipping", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("shipping", 8083, 9183)}
	return service.Serve(ctx, &cfg, func(_ context.Context, d *service.Deps) error {
		d.Uses(cfg.StateStore, cfg.LabelsBinding)
		svc := shipment.NewService(
			daprx.NewStore[shipment.Shipment](d.Dapr, cfg.StateStore),
			labels.New(daprx.NewBinding(d.Dapr, cfg.LabelsBinding)),
			d.Publisher, cfg.Carrier, time.Now,
		)
		api.Register(d.Engine, d.Events, svc)
		return nil
	})
}
