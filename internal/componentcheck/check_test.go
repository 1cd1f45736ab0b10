package componentcheck

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The services' component names (README: every profile defines exactly these).
var serviceComponents = []string{
	"card-provider", "console-store", "deadletters-store", "email", "inventory-store", "notifications-store", "orders-store",
	"payments-store", "pubsub", "secretstore", "shipping-labels", "shipping-store",
}

func TestCheckRealTree(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	root, err := filepath.Abs(filepath.Join("..", "..", "components"))
	require.NoError(t, err)

	res, err := Check(cat, root, Options{Reference: "redis"})
	require.NoError(t, err)
	t.Logf("dapr %s, components-contrib %s; profiles:\n%s", cat.DaprVersion, cat.ContribVersion, res.Summary())

	assert.NoError(t, res.Err(), "components/ must pass every rule")
	profiles := map[string][]string{}
	for _, p := range res.Profiles {
		for _, c := range p.Components {
			profiles[p.Name] = append(profiles[p.Name], c.Name)
		}
	}
	for _, name := range []string{"redis", "aws", "azure", "gcp"} {
		assert.Equal(t, serviceComponents, profiles[name], "profile %s", name)
	}
	assert.NotContains(t, profiles, "shared", "shared is loaded with every profile, not a profile")
	assert.NotContains(t, profiles, "secrets", "secrets holds the local secret file, not resources")
}

// want is an expected problem: everything but the message must match exactly, the message must contain
// msg.
type want struct {
	file      string
	line      int
	component string
	key       string
	msg       string
}

func TestCheckRejects(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	base := validTree()
	without := func(name string) map[string]string {
		out := validTree()
		delete(out, name)
		return out
	}
	with := func(name, content string) map[string]string {
		out := validTree()
		out[name] = content
		return out
	}
	const rabbitmqBroker = `  type: pubsub.rabbitmq
  version: v1
  metadata:
  - name: connectionString
    secretKeyRef:
      name: rabbitmq-url
      key: rabbitmq-url
`
	const localFileStore = `  type: secretstores.local.file
  version: v1
  metadata:
  - name: secretsFile
    value: components/secrets/local.json
`
	// A secret store whose only authentication is an access key (no ambient identity in Dapr 1.18).
	const huaweiStore = `  type: secretstores.huaweicloud.csms
  version: v1
  metadata:
  - name: region
    value: ap-southeast-1
  - name: accessKey
    secretKeyRef:
      name: csms-access-key
      key: csms-access-key
  - name: secretAccessKey
    secretKeyRef:
      name: csms-secret-access-key
      key: csms-secret-access-key
`

	tests := []struct {
		name  string
		files map[string]string
		want  []want
	}{
		{
			name:  "the valid fixture passes",
			files: base,
		},
		{
			name:  "unknown type",
			files: edit(t, base, "alpha/pubsub.yaml", "type: pubsub.redis", "type: pubsub.redsi"),
			want: []want{{"components/alpha/pubsub.yaml", 6, "pubsub", "spec.type",
				`component "pubsub": spec.type "pubsub.redsi" is not a component of daprd v1.18.2 (did you mean "pubsub.redis"?)`}},
		},
		{
			name:  "unknown version",
			files: edit(t, base, "beta/statestores.yaml", "version: v2", "version: v3"),
			want: []want{{"components/beta/statestores.yaml", 6, "orders-store", "spec.version",
				`daprd v1.18.2 has no version "v3" of state.postgresql (it has v1, v2)`}},
		},
		{
			name:  "typo in a metadata key",
			files: edit(t, base, "alpha/pubsub.yaml", "name: redisHost", "name: redisHots"),
			want: []want{
				{"components/alpha/pubsub.yaml", 6, "pubsub", "redisHost", `component "pubsub" (pubsub.redis v1): required metadata "redisHost" is missing`},
				{"components/alpha/pubsub.yaml", 9, "pubsub", "redisHots",
					`component "pubsub" (pubsub.redis v1): metadata "redisHots" is not declared by pubsub.redis v1`},
			},
		},
		{
			name:  "typo in a manifest field",
			files: edit(t, base, "alpha/bindings.yaml", "  metadata:\n  - name: url", "  metdata:\n  - name: url"),
			want: []want{
				{"components/alpha/bindings.yaml", 6, "card-provider", "url", `required metadata "url" is missing`},
				{"components/alpha/bindings.yaml", 8, "card-provider", "metdata", `component "card-provider": unknown field "metdata" in spec (Dapr ignores it)`},
			},
		},
		{
			name: "missing required key",
			files: edit(t, base, "alpha/bindings.yaml", "  - name: url\n    value: http://127.0.0.1:8089\n",
				"  - name: responseTimeout\n    value: 5s\n"),
			want: []want{{"components/alpha/bindings.yaml", 6, "card-provider", "url",
				`component "card-provider" (bindings.http v1): required metadata "url" is missing`}},
		},
		{
			name: "inline secret value",
			files: edit(t, base, "alpha/pubsub.yaml", "    secretKeyRef:\n      name: redis-password\n      key: redis-password\n",
				"    value: hunter2\n"),
			want: []want{{"components/alpha/pubsub.yaml", 11, "pubsub", "redisPassword",
				`component "pubsub" (pubsub.redis v1): metadata "redisPassword" holds a credential and must use secretKeyRef, not value`}},
		},
		{
			name:  "secretKeyRef without auth.secretStore",
			files: edit(t, base, "beta/statestores.yaml", "auth:\n  secretStore: secretstore\n", ""),
			want: []want{{"components/beta/statestores.yaml", 9, "orders-store", "connectionString",
				`metadata "connectionString" uses secretKeyRef but the component sets no auth.secretStore`}},
		},
		{
			name:  "auth.secretStore naming Dapr's implicit Kubernetes store",
			files: edit(t, base, "beta/pubsub.yaml", "  secretStore: secretstore", "  secretStore: kubernetes"),
			want: []want{{"components/beta/pubsub.yaml", 18, "pubsub", "auth.secretStore",
				`component "pubsub" (pubsub.rabbitmq v1): auth.secretStore "kubernetes" is not a secret-store component of profile "beta"`}},
		},
		{
			name: "secret store reading its credentials although it has workload identity",
			files: edit(t, base, "alpha/secretstore.yaml", localFileStore, `  type: secretstores.azure.keyvault
  version: v1
  metadata:
  - name: vaultName
    value: orderflow
  - name: azureTenantId
    value: tenant
  - name: azureClientId
    value: client
  - name: azureClientSecret
    secretKeyRef:
      name: sp-secret
      key: client-secret
auth:
  secretStore: kubernetes
`),
			want: []want{{"components/alpha/secretstore.yaml", 15, "secretstore", "azureClientSecret",
				`a secret store must not read its credentials from a secret store (metadata "azureClientSecret")`}},
		},
		{
			name:  "secret store without workload identity bootstrapping from another store",
			files: edit(t, base, "alpha/secretstore.yaml", localFileStore, huaweiStore+"auth:\n  secretStore: secretstore\n"),
			want: []want{{"components/alpha/secretstore.yaml", 11, "secretstore", "accessKey",
				`metadata "accessKey": secretstores.huaweicloud.csms v1 has no workload-identity option in Dapr v1.18.2, so its key can only come from Dapr's built-in Kubernetes store; set auth.secretStore: kubernetes`}},
		},
		{
			name:  "secret store without workload identity bootstrapping from the Kubernetes store passes",
			files: edit(t, base, "alpha/secretstore.yaml", localFileStore, huaweiStore+"auth:\n  secretStore: kubernetes\n"),
		},
		{
			name: "no authentication profile satisfied",
			files: edit(t, base, "beta/pubsub.yaml", rabbitmqBroker, `  type: pubsub.azure.servicebus.topics
  version: v1
  metadata:
`),
			want: []want{{"components/beta/pubsub.yaml", 6, "pubsub", "connectionString",
				`no authentication profile is satisfied: "Connection string" needs connectionString; "Azure AD: managed identity or workload identity" needs namespaceName`}},
		},
		{
			name: "cloud pub/sub on workload identity without its project",
			files: edit(t, base, "beta/pubsub.yaml", rabbitmqBroker, `  type: pubsub.gcp.pubsub
  version: v1
  metadata:
`),
			want: []want{{"components/beta/pubsub.yaml", 6, "pubsub", "projectID",
				`"GCP: application default credentials (GKE workload identity)" needs projectID`}},
		},
		{
			name:  "binding direction daprd does not register",
			files: edit(t, base, "shared/cron.yaml", "value: input", "value: output"),
			want: []want{{"components/shared/cron.yaml", 11, "reservation-expiry", "direction",
				`direction "output": daprd does not register bindings.cron as an output binding`}},
		},
		{
			name: "state store without the ETags the service relies on",
			files: edit(t, base, "beta/statestores.yaml", "  type: state.postgresql\n  version: v2\n  metadata:\n  - name: connectionString\n    secretKeyRef:\n      name: postgres-url\n      key: postgres-url\n",
				"  type: state.gcp.firestore\n  version: v1\n  metadata:\n  - name: project_id\n    value: p\n  - name: entity_kind\n    value: k\n"),
			want: []want{{"components/beta/statestores.yaml", 6, "orders-store", "spec.type",
				`cannot be shown to support etag, which orders-store relies on`}},
		},
		{
			name:  "profile missing a component",
			files: without("beta/bindings.yaml"),
			want: []want{{"components/beta", 0, "card-provider", "",
				`profile "beta" does not define component "card-provider" (profile "alpha" does, in components/alpha/bindings.yaml)`}},
		},
		{
			name:  "scope mismatch",
			files: edit(t, base, "beta/statestores.yaml", "scopes: [orders]", "scopes: [orders, payments]"),
			want: []want{{"components/beta/statestores.yaml", 15, "orders-store", "scopes",
				`component "orders-store": scopes [orders payments] differ from profile "alpha" ([orders])`}},
		},
		{
			name:  "same name, different kind of component",
			files: edit(t, base, "beta/statestores.yaml", "  type: state.postgresql\n  version: v2\n", "  type: bindings.postgresql\n  version: v1\n"),
			want: []want{{"components/beta/statestores.yaml", 6, "orders-store", "spec.type",
				`component "orders-store" is a bindings component (bindings.postgresql) here but a state component (state.redis) in profile "alpha"`}},
		},
		{
			name:  "subscription referencing an unknown pubsub",
			files: edit(t, base, "shared/subscriptions.yaml", "pubsubname: pubsub", "pubsubname: bus"),
			want: []want{
				{"components/shared/subscriptions.yaml", 6, "payments-on-order-placed", "pubsubname",
					`subscription "payments-on-order-placed": pubsubname "bus" is not a pub/sub component of profile "alpha"`},
				{"components/shared/subscriptions.yaml", 6, "payments-on-order-placed", "pubsubname",
					`subscription "payments-on-order-placed": pubsubname "bus" is not a pub/sub component of profile "beta"`},
			},
		},
		{
			name:  "subscription to a topic the app's subscriptionScopes exclude",
			files: edit(t, base, "alpha/pubsub.yaml", `value: "orders=;payments=order.placed"`, `value: "orders=;payments=order.cancelled"`),
			want: []want{{"components/shared/subscriptions.yaml", 6, "payments-on-order-placed", "topic",
				`app "payments" may not subscribe to "order.placed" under the subscriptionScopes/allowedTopics of component "pubsub" in profile "alpha"`}},
		},
		{
			name:  "dead-letter topic the app may not publish",
			files: edit(t, base, "beta/pubsub.yaml", "payments=payments.deadletter", "payments=payment.succeeded"),
			want: []want{{"components/shared/subscriptions.yaml", 6, "payments-on-order-placed", "deadLetterTopic",
				`app "payments" may not publish to its dead-letter topic "payments.deadletter" under the publishingScopes/allowedTopics of component "pubsub" in profile "beta"`}},
		},
		{
			name:  "resiliency targeting an unknown component",
			files: edit(t, base, "shared/resiliency.yaml", "      orders-store:", "      order-store:"),
			want: []want{
				{"components/shared/resiliency.yaml", 13, "orderflow", "order-store", `resiliency "orderflow": targets.components "order-store" is not a component of profile "alpha"`},
				{"components/shared/resiliency.yaml", 13, "orderflow", "order-store", `resiliency "orderflow": targets.components "order-store" is not a component of profile "beta"`},
			},
		},
		{
			name:  "component defined twice",
			files: with("beta/extra.yaml", base["beta/statestores.yaml"]),
			want: []want{{"components/beta/statestores.yaml", 1, "orders-store", "metadata.name",
				`component "orders-store" is defined twice in profile "beta" (also at components/beta/extra.yaml:1)`}},
		},
		{
			name:  "component defined in a profile and in shared",
			files: with("beta/cron.yaml", base["shared/cron.yaml"]),
			want: []want{
				{"components/beta/cron.yaml", 1, "reservation-expiry", "metadata.name",
					`component "reservation-expiry" is defined both here and in components/shared/cron.yaml; Dapr would load it twice`},
				{"components/beta/cron.yaml", 1, "reservation-expiry", "metadata.name",
					`component "reservation-expiry" is not defined by profile "alpha": every profile must define the same components`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Check(cat, writeTree(t, tt.files), Options{Reference: "alpha"})
			require.NoError(t, err)
			assertProblems(t, tt.want, res.Problems)
		})
	}
}

// assertProblems matches problems against wants one to one, in order (Check sorts them by file and line).
func assertProblems(t *testing.T, wants []want, got []Problem) {
	t.Helper()
	if !assert.Len(t, got, len(wants), "problems:\n%s", (&Result{Problems: got}).Err()) {
		return
	}
	for i, w := range wants {
		p := got[i]
		assert.Equal(t, w.file, p.File, "problem %d: %s", i, p)
		assert.Equal(t, w.line, p.Line, "problem %d: %s", i, p)
		assert.Equal(t, w.component, p.Component, "problem %d: %s", i, p)
		assert.Equal(t, w.key, p.Key, "problem %d: %s", i, p)
		assert.Contains(t, p.Message, w.msg, "problem %d", i)
	}
}

func TestCheckReportsUnreadableTree(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{name: "no such directory", files: nil, want: "no such file or directory"},
		{name: "no profile folders", files: map[string]string{"shared/cron.yaml": "kind: Component\n"}, want: "has no profile folders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(t.TempDir(), "components")
			if tt.files != nil {
				root = writeTree(t, tt.files)
			}
			_, err := Check(cat, root, Options{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestCheckReportsInvalidYAML(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	files := validTree()
	files["alpha/broken.yaml"] = "kind: Component\nmetadata: [unclosed\n"

	res, err := Check(cat, writeTree(t, files), Options{Reference: "alpha"})
	require.NoError(t, err)
	require.Len(t, res.Problems, 1)
	assert.Equal(t, "components/alpha/broken.yaml", res.Problems[0].File)
	assert.Contains(t, res.Problems[0].Message, "not valid YAML")
}
