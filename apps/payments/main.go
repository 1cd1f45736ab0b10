// Command payments charges orders once their stock is reserved and refunds them when they are stopped later,
// through the card provider behind the "card-provider" output binding. Its API key comes from the Dapr secret
// store. Locally the provider is the simulator in apps/cardsim.
package main

import (
	"context"
	"fmt"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"orderflow/apps/payments/api"
	"orderflow/apps/payments/cardprovider"
	"orderflow/apps/payments/payment"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the payments service's configuration.
type Config struct {
	service.Config
	StateStore      string `env:"STATESTORE_NAME,notEmpty" envDefault:"payments-store"`
	ProviderBinding string `env:"CARD_PROVIDER_BINDING,notEmpty" envDefault:"card-provider"`
	SecretStore     string `env:"SECRET_STORE,notEmpty" envDefault:"secretstore"`
	APIKeySecret    string `env:"CARD_PROVIDER_SECRET,notEmpty" envDefault:"card-provider-api-key"`
}

func main() { service.Main("payments", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("payments", 8082, 9182)}
	return service.Serve(ctx, &cfg, func(ctx context.Context, d *service.Deps) error {
		d.Uses(cfg.StateStore, cfg.ProviderBinding, cfg.SecretStore)
		apiKey, err := readSecret(ctx, d.Dapr, cfg.SecretStore, cfg.APIKeySecret)
		if err != nil {
			return err
		}
		svc := payment.NewService(
			daprx.NewStore[payment.Payment](d.Dapr, cfg.StateStore),
			cardprovider.New(daprx.NewBinding(d.Dapr, cfg.ProviderBinding), apiKey),
			d.Publisher, time.Now,
		)
		api.Register(d.Engine, d.Events, svc)
		return nil
	})
}

// readSecret fetches the provider's API key from the secret store, waiting for the sidecar to come up; a
// missing secret stops the service with a message naming it.
func readSecret(ctx context.Context, client dapr.Client, store, name string) (string, error) {
	var values map[string]string
	// Unavailable means the sidecar is not up yet; anything else (no such store or secret) will not heal.
	unavailable := func(err error) bool { return status.Code(err) == codes.Unavailable }
	err := daprx.AwaitSidecar(ctx, unavailable, func(ctx context.Context) (err error) {
		values, err = client.GetSecret(ctx, store, name, nil)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reading secret %q from secret store %q (SECRET_STORE/CARD_PROVIDER_SECRET): %w", name, store, err)
	}
	if v := values[name]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("secret %q in secret store %q is empty or missing (CARD_PROVIDER_SECRET)", name, store)
}
