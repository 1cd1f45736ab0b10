// Command token prints a bearer token from the running development issuer (apps/devissuer), for calling
// orderflow's APIs locally:
//
//	go run ./tools/token -sub c-42 [-role admin] [-ttl 1h] [-issuer http://127.0.0.1:8088]
//	curl -H "Authorization: Bearer $(go run ./tools/token -sub c-42)" localhost:8080/v1/orders
//
// It asks the issuer's POST /token, so the token is signed with the key the services fetch from the
// issuer's JWKS; it works only while `make run` is running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"orderflow/internal/devtoken"
	"orderflow/internal/platform/service"
)

func main() { service.Main("token", run) }

func run(ctx context.Context) error { return cli(ctx, os.Args[1:], os.Stdout) }

// cli mints one token as args (without the program name) ask and writes it to out.
func cli(ctx context.Context, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := flags.String("sub", "", "the subject: the customer id the token is for (required)")
	var roles []string
	flags.Func("role", "a role to grant, such as admin (repeatable)", func(r string) error {
		roles = append(roles, r)
		return nil
	})
	ttl := flags.Duration("ttl", time.Hour, "how long the token stays valid (at most 24h)")
	issuerURL := flags.String("issuer", devtoken.DefaultIssuer, "the development issuer started by make run")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		flags.Usage()
		return errors.New("-sub is required: go run ./tools/token -sub CUSTOMER_ID [-role admin]")
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: every setting is a flag", flags.Args())
	}
	token, err := devtoken.Mint(ctx, nil, *issuerURL, *sub, *ttl, roles...)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, token)
	return err
}
