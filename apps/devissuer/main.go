// Command devissuer serves the development OpenID Connect issuer (apps/devissuer/issuer) that `make run` uses
// in place of a real identity provider: OIDC discovery, a JWKS, POST /token, which mints a token for any
// subject and roles (go run ./tools/token), and the authorization code flow with PKCE (GET /authorize: a login
// page without a password) through which the console logs people in. Like apps/cardsim it is a stand-in for a third party, not part of
// orderflow proper, and uses no Dapr API.
//
// DEVELOPMENT ONLY. It authenticates nobody: whoever reaches it gets an admin token. It listens on 127.0.0.1
// unless APP_HOST says otherwise, and warns loudly when it does. Never deploy it.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"orderflow/apps/devissuer/issuer"
	"orderflow/internal/platform/config"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/service"
)

// Config is the issuer's configuration. AUTH_ISSUER and AUTH_AUDIENCE are the names the services read
// (internal/platform/auth), so one setting in the run file configures both sides.
type Config struct {
	Host string `env:"APP_HOST" envDefault:"127.0.0.1"`
	Port int    `env:"APP_PORT" envDefault:"8088"`
	// Issuer is the iss claim and the base of the endpoints; unset, http://APP_HOST:APP_PORT.
	Issuer    string `env:"AUTH_ISSUER"`
	Audience  string `env:"AUTH_AUDIENCE" envDefault:"orderflow"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"text"`
	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("APP_PORT must be a TCP port (1-65535), got %d", c.Port)
	}
	if c.Audience == "" {
		return errors.New("AUTH_AUDIENCE must not be empty")
	}
	return nil
}

func main() { service.Main("devissuer", run) }

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
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + addr
	}
	iss, err := issuer.New(cfg.Issuer, cfg.Audience)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(cfg.Host); cfg.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		logger.WithField("APP_HOST", cfg.Host).Warn("DEVELOPMENT ISSUER REACHABLE FROM OTHER MACHINES: anyone who reaches it can mint admin tokens")
	}
	// /healthz and /readyz as every app of the run file has them: the sidecar the Dapr CLI (and the launcher)
	// starts beside it checks the first, the launcher waits for the second.
	mux := http.NewServeMux()
	mux.Handle("/", iss.Handler())
	ok := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET /healthz", ok)
	mux.HandleFunc("GET /readyz", ok)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	log := logger.WithField(logging.FieldApp, "devissuer")
	log.WithFields(logrus.Fields{"issuer": iss.URL(), "audience": cfg.Audience, "kid": iss.KeyID()}).
		Warn("development OIDC issuer: it mints tokens for anyone who asks; never use it outside local development")
	return service.ListenAndServe(ctx, log, 5*time.Second, service.Listener{Server: srv, Settings: "APP_HOST/APP_PORT"})
}
