// Command deadletters is the operator's client of the deadletters app (apps/deadletters): it lists the dead
// letters the services gave up on, shows one, and replays or discards it.
//
//	go run ./tools/deadletters [-url http://localhost:8085] list [-status pending|replayed|discarded|all] [-limit 50] [-cursor C]
//	go run ./tools/deadletters [-url …] show ID
//	go run ./tools/deadletters [-url …] replay ID
//	go run ./tools/deadletters [-url …] discard ID
//
// The API is for operators: the tool sends the bearer token of -token (default $ORDERFLOW_TOKEN), a token with
// the admin role from the organisation's identity provider. Without one, it asks the development issuer that
// `make run` starts (-issuer) for an admin token, so locally nothing needs setting.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"orderflow/internal/devtoken"
	"orderflow/internal/platform/service"
)

func main() { service.Main("deadletters", run) }

const usage = `usage: go run ./tools/deadletters [-url URL] COMMAND
commands:
  list [-status pending|replayed|discarded|all] [-limit N] [-cursor C]   newest first
  show ID                                                              the dead letter with its original event
  replay ID                                                            publish the event again to its original topic
  discard ID                                                           mark it dealt with, without replaying`

func run(ctx context.Context) error { return cli(ctx, os.Args[1:], os.Stdout) }

// cli runs one command with args (without the program name), writing its output to out.
func cli(ctx context.Context, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("deadletters", flag.ContinueOnError)
	base := flags.String("url", "http://localhost:8085", "the deadletters app")
	token := flags.String("token", os.Getenv("ORDERFLOW_TOKEN"), "a bearer token with the admin role (default $ORDERFLOW_TOKEN; none: one from -issuer)")
	issuer := flags.String("issuer", devtoken.DefaultIssuer, "the development issuer that make run starts, asked for a token when -token is empty")
	flags.Usage = func() { fmt.Fprintln(flags.Output(), usage); flags.PrintDefaults() }
	if err := flags.Parse(args); err != nil {
		return err
	}
	c := client{base: *base, http: &http.Client{Timeout: 30 * time.Second}, out: out, token: *token}
	args = flags.Args()
	if len(args) == 0 {
		flags.Usage()
		return errors.New("no command")
	}
	if c.token == "" {
		var err error
		if c.token, err = devtoken.Mint(ctx, c.http, *issuer, "deadletters-cli", 0, "admin"); err != nil {
			return fmt.Errorf("no -token, and no token from the development issuer: %w", err)
		}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "list":
		return c.list(ctx, rest)
	case "show", "replay", "discard":
		if len(rest) != 1 {
			return fmt.Errorf("%s needs exactly one dead-letter id", cmd)
		}
		method, path := http.MethodPost, "/v1/deadletters/"+url.PathEscape(rest[0])+"/"+cmd
		if cmd == "show" {
			method, path = http.MethodGet, "/v1/deadletters/"+url.PathEscape(rest[0])
		}
		body, err := c.do(ctx, method, path)
		if err != nil {
			return err
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, body, "", "  "); err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, indented.String())
		return err
	default:
		flags.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
}

type client struct {
	base  string
	http  *http.Client
	out   io.Writer
	token string
}

func (c client) list(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("list", flag.ContinueOnError)
	status := flags.String("status", "pending", "pending, replayed, discarded or all")
	limit := flags.Int("limit", 50, "dead letters per page")
	cursor := flags.String("cursor", "", "continue a previous listing")
	if err := flags.Parse(args); err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *status != "all" {
		q.Set("status", *status)
	}
	if *cursor != "" {
		q.Set("cursor", *cursor)
	}
	body, err := c.do(ctx, http.MethodGet, "/v1/deadletters?"+q.Encode())
	if err != nil {
		return err
	}
	var page struct {
		DeadLetters []struct {
			ID         string    `json:"id"`
			Status     string    `json:"status"`
			Consumer   string    `json:"consumer"`
			Topic      string    `json:"topic"`
			EventID    string    `json:"eventId"`
			EventType  string    `json:"eventType"`
			ArrivedAt  time.Time `json:"arrivedAt"`
			ParseError string    `json:"parseError"`
		} `json:"deadLetters"`
		Next string `json:"next"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("reading the listing: %w", err)
	}
	w := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tCONSUMER\tTOPIC\tEVENT\tTYPE\tARRIVED\tPROBLEM")
	for _, d := range page.DeadLetters {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Status, d.Consumer, d.Topic, d.EventID, d.EventType,
			d.ArrivedAt.Local().Format(time.DateTime), d.ParseError)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		_, err = fmt.Fprintf(c.out, "more: go run ./tools/deadletters -url %s list -status %s -limit %d -cursor %s\n", c.base, *status, *limit, page.Next)
	}
	return err
}

// do sends a request and returns the body of a 2xx answer; anything else becomes an error carrying the
// problem document's detail (and field), so the operator sees what to fix.
func (c client) do(ctx context.Context, method, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling the deadletters app (is it running? `make run`): %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return body, nil
	}
	var p struct {
		Detail string `json:"detail"`
		Field  string `json:"field"`
	}
	if json.Unmarshal(body, &p) != nil || p.Detail == "" {
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if p.Field != "" {
		return nil, fmt.Errorf("%s: %s: %s", resp.Status, p.Field, p.Detail)
	}
	return nil, fmt.Errorf("%s: %s", resp.Status, p.Detail)
}
