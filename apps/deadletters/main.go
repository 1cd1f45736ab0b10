// Command deadletters keeps what the other services gave up on: it subscribes to every app's dead-letter topic,
// stores each dead letter through its own state store, and lets operators list, replay or discard them (also
// with `go run ./tools/deadletters`). See apps/deadletters/deadletter for the domain.
package main

import (
	"context"
	"errors"
	"time"

	"orderflow/apps/deadletters/api"
	"orderflow/apps/deadletters/deadletter"
	"orderflow/apps/deadletters/republish"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the deadletters service's configuration.
type Config struct {
	service.Config
	// Auth names the identity provider whose bearer tokens the API accepts.
	Auth       auth.Config
	StateStore string `env:"STATESTORE_NAME,notEmpty" envDefault:"deadletters-store"`
}

// Validate implements config.Validator.
func (c Config) Validate() error { return errors.Join(c.Config.Validate(), c.Auth.Validate()) }

func main() { service.Main("deadletters", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("deadletters", 8085, 9185)}
	return service.Serve(ctx, &cfg, func(_ context.Context, d *service.Deps) error {
		d.Uses(cfg.StateStore)
		verifier, err := auth.New(cfg.Auth)
		if err != nil {
			return err
		}
		svc := deadletter.NewService(
			daprx.NewStore[deadletter.DeadLetter](d.Dapr, cfg.StateStore),
			daprx.NewStore[deadletter.Index](d.Dapr, cfg.StateStore),
			republish.New(d.Dapr, cfg.PubSub),
			cfg.TopicPrefix,
			time.Now,
		)
		api.Register(d.Engine, d.Events, svc, verifier.Require())
		return nil
	})
}
