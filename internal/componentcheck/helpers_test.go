package componentcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loadCatalog locates the pinned dapr and components-contrib modules once for the whole test binary:
// `go mod download` is quick once the modules are cached, but parsing them need not happen per test.
var loadCatalog = sync.OnceValues(func() (*Catalog, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m, err := LocateModules(ctx, DaprVersion)
	if err != nil {
		return nil, err
	}
	return LoadCatalog(m)
})

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	cat, err := loadCatalog()
	require.NoError(t, err, "locating github.com/dapr/dapr@%s and its components-contrib", DaprVersion)
	return cat
}

// writeTree writes files (paths relative to the components directory) under a fresh directory named
// "components", so problems read "components/<profile>/<file>" as they do for the real tree.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "components")
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return root
}

// edit returns a copy of files with old replaced by new in one file; old must occur there exactly once,
// so that a fixture change cannot silently turn a negative case into a no-op.
func edit(t *testing.T, files map[string]string, name, old, new string) map[string]string {
	t.Helper()
	content, ok := files[name]
	require.True(t, ok, "fixture has no file %s", name)
	require.Equal(t, 1, strings.Count(content, old), "%s must contain %q exactly once", name, old)
	out := make(map[string]string, len(files))
	for k, v := range files {
		out[k] = v
	}
	out[name] = strings.Replace(content, old, new, 1)
	return out
}

// validTree is a small tree that passes every rule: two profiles built on different brokers and stores,
// and a shared folder with a subscription and a resiliency policy that reference their components.
func validTree() map[string]string {
	return map[string]string{
		"alpha/secretstore.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: secretstore
spec:
  type: secretstores.local.file
  version: v1
  metadata:
  - name: secretsFile
    value: components/secrets/local.json
scopes: [orders, payments]
`,
		"alpha/pubsub.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - name: redisHost
    value: 127.0.0.1:6379
  - name: redisPassword
    secretKeyRef:
      name: redis-password
      key: redis-password
  - name: publishingScopes
    value: "orders=order.placed;payments=payments.deadletter"
  - name: subscriptionScopes
    value: "orders=;payments=order.placed"
auth:
  secretStore: secretstore
scopes: [orders, payments]
`,
		"alpha/statestores.yaml": `# a comment before the first separator makes an empty first document
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: orders-store
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: 127.0.0.1:6379
scopes: [orders]
`,
		"alpha/bindings.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: card-provider
spec:
  type: bindings.http
  version: v1
  metadata:
  - name: url
    value: http://127.0.0.1:8089
scopes: [payments]
`,
		"beta/secretstore.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: secretstore
spec:
  type: secretstores.local.file
  version: v1
  metadata:
  - name: secretsFile
    value: components/secrets/local.json
scopes: [orders, payments]
`,
		"beta/pubsub.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.rabbitmq
  version: v1
  metadata:
  - name: connectionString
    secretKeyRef:
      name: rabbitmq-url
      key: rabbitmq-url
  - name: publishingScopes
    value: "orders=order.placed;payments=payments.deadletter"
  - name: subscriptionScopes
    value: "orders=;payments=order.placed"
auth:
  secretStore: secretstore
scopes: [orders, payments]
`,
		"beta/statestores.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: orders-store
spec:
  type: state.postgresql
  version: v2
  metadata:
  - name: connectionString
    secretKeyRef:
      name: postgres-url
      key: postgres-url
auth:
  secretStore: secretstore
scopes: [orders]
`,
		"beta/bindings.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: card-provider
spec:
  type: bindings.http
  version: v1
  metadata:
  - name: url
    value: https://api.card-provider.example.com
scopes: [payments]
`,
		"shared/subscriptions.yaml": `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: payments-on-order-placed
spec:
  pubsubname: pubsub
  topic: order.placed
  routes:
    default: /events/order.placed
  deadLetterTopic: payments.deadletter
scopes: [payments]
`,
		"shared/resiliency.yaml": `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: orderflow
spec:
  policies:
    timeouts:
      sidecar: 5s
  targets:
    components:
      pubsub:
        outbound: {timeout: sidecar}
      orders-store:
        outbound: {timeout: sidecar}
`,
		"shared/cron.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: reservation-expiry
spec:
  type: bindings.cron
  version: v1
  metadata:
  - name: schedule
    value: "@every 2s"
  - name: direction
    value: input
scopes: [orders]
`,
		// Not a profile: the checker must skip it.
		"secrets/local.json": `{"redis-password": ""}`,
	}
}
