// Command inventory owns the catalog and stock: it reserves stock for placed orders (or rejects them),
// releases it when an order fails or is cancelled, commits it on dispatch, and expires unpaid reservations on
// a cron input binding. See apps/inventory/stock for the domain.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"orderflow/apps/inventory/api"
	"orderflow/apps/inventory/stock"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/daprx"
	"orderflow/internal/platform/service"
)

// Config is the inventory service's configuration.
type Config struct {
	service.Config
	// Auth names the identity provider whose bearer tokens the API accepts.
	Auth           auth.Config
	StateStore     string        `env:"STATESTORE_NAME,notEmpty" envDefault:"inventory-store"`
	ExpiryBinding  string        `env:"EXPIRY_BINDING,notEmpty" envDefault:"reservation-expiry"`
	ReservationTTL time.Duration `env:"RESERVATION_TTL" envDefault:"15m"`
	// OrphanHoldGrace is how old a hold without an open reservation must be before the expiry sweep takes it
	// back; it must exceed the time one delivery can take (the sidecar's delivery timeout).
	OrphanHoldGrace time.Duration `env:"ORPHAN_HOLD_GRACE" envDefault:"1m"`
	SeedCatalog     bool          `env:"SEED_CATALOG" envDefault:"true"`
	SeedStock       int           `env:"SEED_STOCK" envDefault:"1000"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate(), c.Auth.Validate()}
	if c.ReservationTTL < time.Second {
		errs = append(errs, fmt.Errorf("RESERVATION_TTL must be at least 1s, got %s", c.ReservationTTL))
	}
	if c.OrphanHoldGrace < time.Second {
		errs = append(errs, fmt.Errorf("ORPHAN_HOLD_GRACE must be at least 1s, got %s", c.OrphanHoldGrace))
	}
	if c.SeedStock < 0 {
		errs = append(errs, errors.New("SEED_STOCK must not be negative"))
	}
	return errors.Join(errs...)
}

// demoCatalog is what a new user finds when the catalog is empty (SEED_CATALOG=true).
func demoCatalog(stockEach int) []stock.SeedProduct {
	p := func(sku, name string, cents int64) stock.SeedProduct {
		return stock.SeedProduct{SKU: sku, ProductInput: stock.ProductInput{Name: name, PriceCents: cents, Available: stockEach}}
	}
	return []stock.SeedProduct{
		p("SKU-1", "Espresso beans, 1 kg", 1999),
		p("SKU-2", "Ceramic cup", 899),
		p("SKU-3", "Hand grinder", 4599),
		p("SKU-4", "Pour-over kettle", 3499),
		p("SKU-5", "Paper filters, 100", 499),
	}
}

func main() { service.Main("inventory", run) }

func run(ctx context.Context) error {
	cfg := Config{Config: service.Defaults("inventory", 8081, 9181)}
	return service.Serve(ctx, &cfg, func(ctx context.Context, d *service.Deps) error {
		d.Uses(cfg.StateStore, cfg.ExpiryBinding)
		verifier, err := auth.New(cfg.Auth)
		if err != nil {
			return err
		}
		svc := stock.NewService(
			daprx.NewStore[stock.Product](d.Dapr, cfg.StateStore),
			daprx.NewStore[stock.Reservation](d.Dapr, cfg.StateStore),
			daprx.NewStore[stock.Catalog](d.Dapr, cfg.StateStore),
			d.Publisher, cfg.ReservationTTL, cfg.OrphanHoldGrace, time.Now,
		)
		api.Register(d.Engine, d.Events, svc, cfg.ExpiryBinding, verifier.Require())
		if cfg.SeedCatalog {
			// Before the app listens, so the sidecar delivers no order before the catalog exists.
			if err := seed(ctx, d, svc, demoCatalog(cfg.SeedStock)); err != nil {
				return err
			}
		}
		return nil
	})
}

// seed fills an empty catalog once the sidecar's state API answers, which it does before the app listens.
func seed(ctx context.Context, d *service.Deps, svc *stock.Service, products []stock.SeedProduct) error {
	var seeded bool
	retry := func(err error) bool {
		d.Log.WithError(err).Debug("seeding the catalog; retrying")
		return true
	}
	err := daprx.AwaitSidecar(ctx, retry, func(ctx context.Context) (err error) {
		seeded, err = svc.Seed(ctx, products)
		return err
	})
	if err != nil {
		return fmt.Errorf("seeding the demo catalog (SEED_CATALOG): %w", err)
	}
	if seeded {
		d.Log.WithField("products", len(products)).Info("seeded the demo catalog")
	}
	return nil
}
