// Command notifications e-mails customers about their orders' lifecycle through the "email" output binding
// and keeps a ledger of what it sent. See apps/notifications/notify for the domain.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"orderflow/apps/notifications/api"
	"orderflow/apps/notifications/mailer"
	"orderflow/apps/notifications/notify"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the notifications service's configuration.
type Config struct {
	service.Config
	StateStore   string `env:"STATESTORE_NAME,notEmpty" envDefault:"notifications-store"`
	EmailBinding string `env:"EMAIL_BINDING,notEmpty" envDefault:"email"`
	EmailFrom    string `env:"EMAIL_FROM" envDefault:"orders@orderflow.example"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
		return errors.Join(c.Config.Validate(), fmt.Errorf("EMAIL_FROM must be an e-mail address: %w", err))
	}
	return c.Config.Validate()
}

func main() { service.Main("notifications", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("notifications", 8084, 9184)}
	return service.Serve(ctx, &cfg, func(_ context.Context, d *service.Deps) error {
		d.Uses(cfg.StateStore, cfg.EmailBinding)
		svc := notify.NewService(
			daprx.NewStore[notify.Ledger](d.Dapr, cfg.StateStore),
			mailer.New(daprx.NewBinding(d.Dapr, cfg.EmailBinding), cfg.EmailFrom, func(ctx context.Context) (string, error) {
				return daprx.ComponentType(ctx, d.Dapr, cfg.EmailBinding)
			}),
			time.Now,
		)
		api.Register(d.Engine, d.Events, svc)
		return nil
	})
}
