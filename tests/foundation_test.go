// Package tests holds orderflow's integration tests: real daprd sidecars and app processes (tests/harness)
// against the machine's real Redis. `make test` runs them after the unit tests.
package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/kv/kvtest"
	"orderflow/internal/platform/daprx"
	"orderflow/tests/harness"
)

type orderView struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	CustomerID string `json:"customerId"`
	Email      string `json:"email"`
	Items      []struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	} `json:"items"`
	History []struct {
		Status string    `json:"status"`
		At     time.Time `json:"at"`
	} `json:"history"`
}

func TestOrderPlacedThroughSidecarsReachesNotifications(t *testing.T) {
	t.Parallel()
	sys := harness.Start(t, harness.Options{Apps: []string{"orders", "notifications"}})
	orders, notifications := sys.App(t, "orders"), sys.App(t, "notifications")

	placed := harness.Do(t, http.MethodPost, orders.URL()+"/v1/orders", map[string]any{
		"customerId": "c-42", "email": "ada@example.com",
		"items":   []map[string]any{{"sku": "SKU-1", "quantity": 2}},
		"payment": map[string]any{"cardToken": "tok_visa"},
	}, nil)
	require.Equal(t, http.StatusCreated, placed.Status, string(placed.Body))
	var o orderView
	placed.JSON(t, &o)
	assert.Equal(t, "PENDING", o.Status)
	assert.Equal(t, "/v1/orders/"+o.ID, placed.Header.Get("Location"))

	got := harness.Do(t, http.MethodGet, orders.URL()+"/v1/orders/"+o.ID, nil, nil)
	require.Equal(t, http.StatusOK, got.Status)
	var fetched orderView
	got.JSON(t, &fetched)
	assert.Equal(t, o.ID, fetched.ID)
	assert.Equal(t, "ada@example.com", fetched.Email)

	// The second service receives order.placed through its own sidecar and e-mails through its binding.
	// Only the sent list counts: while the e-mail is being sent it is listed under "unsent" (state sending).
	require.Eventually(t, func() bool {
		r := harness.Do(t, http.MethodGet, notifications.URL()+"/v1/notifications?orderId="+o.ID, nil, nil)
		var list struct {
			Notifications []struct{ Event string } `json:"notifications"`
		}
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &list) == nil &&
			slices.ContainsFunc(list.Notifications, func(n struct{ Event string }) bool { return n.Event == "order.placed" })
	}, 15*time.Second, 100*time.Millisecond)
	mail, err := os.ReadFile(filepath.Join(sys.DataDir, "mail", o.ID+"-order.placed.eml"))
	require.NoError(t, err)
	assert.Contains(t, string(mail), "To: ada@example.com")
	assert.Contains(t, string(mail), o.ID)
}

func TestSidecarWithUnreachableBrokerFailsStartWithUsefulMessage(t *testing.T) {
	t.Parallel()
	sys := harness.Start(t, harness.Options{
		Apps:               []string{"orders"},
		Overrides:          map[string]map[string]string{"pubsub": {"redisHost": "127.0.0.1:1"}},
		ExpectStartFailure: true,
	})
	require.Error(t, sys.StartErr)
	t.Log(sys.StartErr)
	msg := sys.StartErr.Error()
	assert.Contains(t, msg, "orders:daprd")
	assert.Contains(t, msg, "pubsub", "the error names the component that failed")
	assert.Contains(t, msg, "127.0.0.1:1", "the error names the unreachable address")
}

func TestDaprStateStoreHonoursTheKVContract(t *testing.T) {
	t.Parallel()
	sys := harness.Start(t, harness.Options{Apps: []string{"orders"}})
	client, err := daprx.Connect(sys.App(t, "orders").Spec.DaprGRPCPort, sys.DaprAPIToken)
	require.NoError(t, err)
	t.Cleanup(client.Close)
	kvtest.Run(t, daprx.NewStore[kvtest.Doc](client, "orders-store"), "kvcontract-")
}

func TestReadinessReflectsSidecarAndSubscriptions(t *testing.T) {
	t.Parallel()
	sys := harness.Start(t, harness.Options{Apps: []string{"orders"}})
	orders := sys.App(t, "orders")
	ready := harness.Do(t, http.MethodGet, orders.URL()+"/readyz", nil, nil)
	require.Equal(t, http.StatusOK, ready.Status, string(ready.Body))
	assert.Contains(t, string(ready.Body), `"name":"subscriptions","ok":true`)

	// With its sidecar gone the app is alive but not ready.
	orders.StopSidecar()
	live := harness.Do(t, http.MethodGet, orders.URL()+"/healthz", nil, nil)
	assert.Equal(t, http.StatusOK, live.Status)
	// The public port names the failing check; only the ops port says why (the sidecar's address).
	notReady := harness.Do(t, http.MethodGet, orders.URL()+"/readyz", nil, nil)
	assert.Equal(t, http.StatusServiceUnavailable, notReady.Status)
	assert.Contains(t, string(notReady.Body), `"name":"sidecar","ok":false`)
	assert.NotContains(t, string(notReady.Body), "127.0.0.1")
	why := harness.Do(t, http.MethodGet, orders.ReadyURL(), nil, nil)
	assert.Equal(t, http.StatusServiceUnavailable, why.Status)
	assert.Contains(t, string(why.Body), "sidecar not reachable at http://127.0.0.1:")
}
