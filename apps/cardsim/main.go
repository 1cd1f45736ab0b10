// Command cardsim serves the simulated card provider (apps/cardsim/sim) that the local profiles' card-provider
// binding points at. It is a stand-in for a third-party gateway, not part of orderflow proper, and uses no
// Dapr API; it is listed in dapr.yaml only so `dapr run -f .` starts it too.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"orderflow/apps/cardsim/sim"
	"orderflow/internal/platform/config"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/service"
)

// Config is the simulator's configuration.
type Config struct {
	Host      string `env:"APP_HOST" envDefault:"127.0.0.1"`
	Port      int    `env:"APP_PORT" envDefault:"8089"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"text"`
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("APP_PORT must be a TCP port (1-65535), got %d", c.Port)
	}
	return nil
}

func main() { service.Main("cardsim", run) }

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	logger, err := logging.New(os.Stdout, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	srv := &http.Server{Addr: addr, Handler: sim.New().Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	return service.ListenAndServe(ctx, logger.WithField(logging.FieldApp, "cardsim"), 5*time.Second, service.Listener{Server: srv, Settings: "APP_HOST/APP_PORT"})
}
