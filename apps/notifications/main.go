// Command notifications e-mails customers about their orders' lifecycle through the "email" output binding
// and keeps a log of what it sent. See apps/notifications/notify for the domain.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"os/signal"
	"syscall"
	"time"

	"orderflow/apps/notifications/api"
	"orderflow/apps/notifications/notify"
	"orderflow/internal/platform/config"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
	"orderflow/internal/platform/web"
)

// Config is the notifications service's configuration.
type Config struct {
	service.Config
	StateStore   string `env:"STATESTORE_NAME" envDefault:"notifications-store"`
	EmailBinding string `env:"EMAIL_BINDING" envDefault:"email"`
	EmailFrom    string `env:"EMAIL_FROM" envDefault:"orders@orderflow.example"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate()}
	if c.StateStore == "" {
		errs = append(errs, errors.New("STATESTORE_NAME must not be empty"))
	}
	if c.EmailBinding == "" {
		errs = append(errs, errors.New("EMAIL_BINDING must not be empty"))
	}
	if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
		errs = append(errs, fmt.Errorf("EMAIL_FROM must be an e-mail address: %w", err))
	}
	return errors.Join(errs...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "notifications:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("notifications", 8084)}
	if err := config.Load(&cfg); err != nil {
		return err
	}
	return service.Run(ctx, service.App{
		Config: cfg,
		Base:   cfg.Config,
		Setup: func(_ context.Context, d *service.Deps) ([]web.Check, error) {
			svc := notify.NewService(
				daprx.NewStore[notify.Recipient](d.Dapr, cfg.StateStore),
				daprx.NewStore[notify.Sent](d.Dapr, cfg.StateStore),
				notify.NewBindingMailer(daprx.NewBinding(d.Dapr, cfg.EmailBinding), cfg.EmailFrom),
				time.Now,
			)
			api.Register(d.Engine, d.Events, svc)
			return nil, nil
		},
	})
}
