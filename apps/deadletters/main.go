// Command deadletters keeps what the other services gave up on: it subscribes to every app's dead-letter topic,
// stores each dead letter through its own state store, and lets operators list, replay or discard them (also
// with `go run ./tools/deadletters`). See apps/deadletters/deadletter for the domain.
package main

import (
	"context"
	"time"

	"orderflow/apps/deadletters/api"
	"orderflow/apps/deadletters/deadletter"
	"orderflow/apps/deadletters/republish"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the deadletters service's configuration.
type Config struct {
	service.Config
	StateStore string `env:"STATESTORE_NAME,notEmpty" envDefault:"deadletters-store"`
}

func main() { service.Main("deadletters", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("deadletters", 8085)}
	return service.Serve(ctx, &cfg, func(_ context.Context, d *service.Deps) error {
		d.Uses(cfg.StateStore)
		svc := deadletter.NewService(
			daprx.NewStore[deadletter.DeadLetter](d.Dapr, cfg.StateStore),
			daprx.NewStore[deadletter.Index](d.Dapr, cfg.StateStore),
			republish.New(d.Dapr, cfg.PubSub),
			cfg.TopicPrefix,
			time.Now,
		)
		api.Register(d.Engine, d.Events, svc)
		return nil
	})
}
