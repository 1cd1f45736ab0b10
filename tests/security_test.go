package tests

import (
	"context"
	"net/http"
	"testing"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"orderflow/internal/platform/daprx"
	"orderflow/tests/harness"
)

func TestSidecarRefusesPublishingAnotherServicesTopic(t *testing.T) {
	t.Parallel()
	sys := harness.Start(t, harness.Options{Apps: []string{"payments"}})
	// The test speaks to payments' sidecar as the payments app would.
	client, err := daprx.Connect(sys.App(t, "payments").Spec.DaprGRPCPort, sys.DaprAPIToken)
	require.NoError(t, err)
	t.Cleanup(client.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	err = client.PublishEvent(ctx, "pubsub", sys.Topic("order.placed"), []byte(`{}`), dapr.PublishEventWithContentType("application/json"))
	require.Error(t, err, "payments may not publish orders' events")
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	assert.Contains(t, err.Error(), "is not allowed for app id "+sys.AppID("payments"))
}

func TestSidecarAndAppRequireTheirTokens(t *testing.T) {
	t.Parallel()
	sys := harness.Start(t, harness.Options{Apps: []string{"orders"}})
	orders := sys.App(t, "orders")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("the sidecar's API wants the Dapr API token", func(t *testing.T) {
		tests := []struct {
			name  string
			token string
			want  int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"wrong token", "nope", http.StatusUnauthorized},
			{"the run's token", sys.DaprAPIToken, http.StatusOK},
		}
		for _, tc := range tests {
			headers := map[string]string{}
			if tc.token != "" {
				headers["dapr-api-token"] = tc.token
			}
			r := harness.Do(t, http.MethodGet, orders.SidecarURL()+"/v1.0/metadata", nil, headers)
			assert.Equal(t, tc.want, r.Status, tc.name)
		}
		anonymous, err := daprx.Connect(orders.Spec.DaprGRPCPort, "")
		require.NoError(t, err)
		defer anonymous.Close()
		_, err = anonymous.GetMetadata(ctx)
		assert.Equal(t, codes.Unauthenticated, status.Code(err))
	})

	t.Run("the app's sidecar-only routes want the app token", func(t *testing.T) {
		tests := []struct {
			name, method, path, token string
			// bearer sends the default customer's bearer token (harness.Do's default); otherwise none.
			bearer bool
			want   int
		}{
			{"delivery without token", http.MethodPost, "/events/stock.reserved", "", true, http.StatusUnauthorized},
			{"delivery with a wrong token", http.MethodPost, "/events/stock.reserved", "nope", true, http.StatusUnauthorized},
			{"subscription list without token", http.MethodGet, "/dapr/subscribe", "", false, http.StatusUnauthorized},
			{"subscription list with the token", http.MethodGet, "/dapr/subscribe", sys.AppAPIToken, false, http.StatusOK},
			{"public API wants a bearer token, not the app token", http.MethodGet, "/v1/orders", sys.AppAPIToken, false, http.StatusUnauthorized},
			{"public API with a customer's bearer token", http.MethodGet, "/v1/orders", "", true, http.StatusOK},
			{"health needs no token", http.MethodGet, "/healthz", "", false, http.StatusOK},
		}
		for _, tc := range tests {
			headers := map[string]string{}
			if tc.token != "" {
				headers["dapr-api-token"] = tc.token
			}
			if !tc.bearer {
				headers["Authorization"] = ""
			}
			r := harness.Do(t, tc.method, orders.URL()+tc.path, `{}`, headers)
			assert.Equal(t, tc.want, r.Status, tc.name)
		}
	})
}
