package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/deadletters/api"
	"orderflow/apps/deadletters/deadletter"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/auth/authtest"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

type republisher struct{}

func (republisher) Republish(context.Context, string, []byte) error { return nil }

// newApp serves the deadletters API over in-memory stores, holding one pending dead letter, and returns its
// URL, the dead letter and the issuer whose tokens the API trusts.
func newApp(t *testing.T) (string, deadletter.DeadLetter, *authtest.Issuer) {
	t.Helper()
	log := logrus.New()
	log.SetLevel(logrus.PanicLevel)
	e := web.NewEngine(logrus.NewEntry(log))
	svc := deadletter.NewService(kvfake.New[deadletter.DeadLetter](), kvfake.New[deadletter.Index](), republisher{}, "", time.Now)
	iss := authtest.New(t)
	api.Register(e, subscriber.NewRouter(e, "", ""), svc, iss.Require())
	d, err := svc.Receive(context.Background(), "inventory",
		[]byte(`{"specversion":"1.0","id":"o-1/order.placed","type":"orderflow.order.placed.v1","topic":"order.placed","data":{}}`))
	require.NoError(t, err)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL, d, iss
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    func(id string) []string
		want    []string
		wantErr string
	}{
		{"list", func(string) []string { return []string{"list"} }, []string{"ID", "pending", "inventory", "order.placed", "o-1/order.placed"}, ""},
		{"list everything", func(string) []string { return []string{"list", "-status", "all"} }, []string{"inventory"}, ""},
		{"show", func(id string) []string { return []string{"show", id} }, []string{`"eventId": "o-1/order.placed"`}, ""},
		{"replay", func(id string) []string { return []string{"replay", id} }, []string{`"status": "replayed"`}, ""},
		{"discard", func(id string) []string { return []string{"discard", id} }, []string{`"status": "discarded"`}, ""},
		{"a bad status names the field", func(string) []string { return []string{"list", "-status", "lost"} }, nil, "status: must be one of"},
		{"an unknown id", func(string) []string { return []string{"show", strings.Repeat("0", 24)} }, nil, "404 Not Found"},
		{"show without an id", func(string) []string { return []string{"show"} }, nil, "exactly one dead-letter id"},
		{"no command", func(string) []string { return nil }, nil, "no command"},
		{"an unknown command", func(string) []string { return []string{"purge"} }, nil, `unknown command "purge"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, d, iss := newApp(t)
			var out bytes.Buffer
			err := cli(context.Background(), append([]string{"-url", url, "-issuer", iss.URL()}, tc.args(d.ID)...), &out)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
}

// TestToken: without -token the tool asks the development issuer for an admin token; a token without the role
// is refused by the app, and the tool says so.
func TestToken(t *testing.T) {
	t.Parallel()
	url, _, iss := newApp(t)
	tests := []struct {
		name    string
		flags   []string
		wantErr string
	}{
		{"a customer's token", []string{"-token", iss.Token(t, "c-42")}, `403 Forbidden: this operation requires the "admin" role`},
		{"no token and no issuer", []string{"-issuer", "http://127.0.0.1:1"}, "no -token, and no token from the development issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := cli(context.Background(), append(append([]string{"-url", url}, tc.flags...), "list"), &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
