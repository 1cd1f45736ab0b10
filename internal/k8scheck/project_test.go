package k8scheck

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadProjectReadsTheRepository(t *testing.T) {
	t.Parallel()
	p := testProject(t)
	orders, ok := p.App("orders")
	require.True(t, ok)
	assert.Equal(t, 8080, orders.Port)
	inventory, ok := p.App("inventory")
	require.True(t, ok)
	assert.Equal(t, "15m", inventory.Env["RESERVATION_TTL"])
	assert.Equal(t, []string{"order.cancelled", "stock.reserved"}, p.Topics("payments"))
	// dapr.yaml lists the services in saga order with orders, the public API, last.
	assert.Equal(t, []string{"inventory", "payments", "shipping", "notifications", "deadletters", "console", "orders"}, p.Subscribers())
	assert.Empty(t, p.Topics("cardsim"))
}

func TestLoadProjectRejects(t *testing.T) {
	t.Parallel()
	const goodRun = "apps:\n- appID: orders\n  appPort: 8080\n"
	const goodSubs = `
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: orders-on-order-placed}
spec: {pubsubname: pubsub, topic: order.placed, routes: {default: /events/order.placed}}
scopes: [orders]
`
	tests := []struct {
		name string
		run  string
		subs string
		want string
	}{
		{name: "app without a port", run: "apps:\n- appID: orders\n", subs: goodSubs, want: "apps[0] needs an appID and an appPort"},
		{name: "no apps", run: "version: 1\n", subs: goodSubs, want: "lists no apps"},
		{
			name: "subscription for two apps", run: goodRun,
			subs: "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: s}\nspec: {pubsubname: pubsub, topic: t}\nscopes: [a, b]\n",
			want: "Subscription s must be scoped to exactly one app",
		},
		{
			name: "not a subscription", run: goodRun,
			subs: "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: r}\n",
			want: "only dapr.io/v2alpha1 Subscriptions belong here",
		},
		{
			name: "misspelt subscription field", run: goodRun,
			subs: "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: s}\nspec: {pubsubName: pubsub, topic: t}\nscopes: [a]\n",
			want: `unknown field "spec.pubsubName"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeFile(t, filepath.Join(root, DaprRunFile), tt.run)
			writeFile(t, filepath.Join(root, SubscriptionsFile), tt.subs)
			_, err := LoadProject(root)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
