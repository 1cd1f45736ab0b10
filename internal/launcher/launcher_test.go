package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}

func TestLoadProjectRunFile(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	specs, err := Load(filepath.Join(root, "dapr.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, specs)
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	// The CLI starts apps in file order without waiting: dependencies first, the public API last.
	assert.Equal(t, []string{"devissuer", "cardsim", "inventory", "payments", "shipping", "notifications", "deadletters", "console", "orders"}, ids)
	orders := specs[len(specs)-1]
	assert.Equal(t, "orders", orders.ID)
	assert.Equal(t, root, orders.Dir)
	assert.Equal(t, 8080, orders.AppPort)
	assert.Equal(t, []string{filepath.Join(root, "components/shared"), filepath.Join(root, "components/redis")}, orders.ResourcesPaths)
	assert.True(t, orders.HealthCheck, "common settings reach every app")
	assert.Equal(t, "text", orders.Env["LOG_FORMAT"])
	assert.Equal(t, "http://127.0.0.1:8088", orders.Env["AUTH_ISSUER"], "the services trust the development issuer")
	assert.Empty(t, orders.PlacementHostAddress, "placement is disabled deliberately: no actors")
	assert.Empty(t, orders.SchedulerHostAddress, "the scheduler is disabled deliberately: no Jobs API")
	assert.NotContains(t, orders.DaprdArgs(), "--placement-host-address")
	assert.NotContains(t, orders.DaprdArgs(), "--scheduler-host-address")
	ports := map[int]string{}
	for _, s := range specs {
		for _, p := range []int{s.AppPort, s.DaprHTTPPort, s.DaprGRPCPort, s.DaprInternalGRPCPort, s.MetricsPort} {
			require.NotZero(t, p, "%s has every port set", s.ID)
			require.Empty(t, ports[p], "port %d is used by %s and %s", p, ports[p], s.ID)
			ports[p] = s.ID
		}
	}
}

func TestUseProfile(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	tests := []struct {
		name, componentsDir, profile, wantErr string
	}{
		// make run passes the folder relative to the working directory; Load's paths are absolute.
		{name: "relative components folder", componentsDir: "../../components", profile: "rabbitmq-postgres"},
		{name: "absolute components folder", componentsDir: filepath.Join(root, "components"), profile: "mqtt-mysql"},
		{name: "unknown profile", componentsDir: "../../components", profile: "kafka", wantErr: `no component profile "kafka"`},
		{name: "the shared folder is no profile", componentsDir: "../../components", profile: "shared", wantErr: "no component profile"},
		{name: "a folder no app loads from", componentsDir: "../../k8s", profile: "base", wantErr: "no app loads its components"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			specs, err := Load(filepath.Join(root, "dapr.yaml"))
			require.NoError(t, err)
			err = UseProfile(specs, tt.componentsDir, tt.profile)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			for _, s := range specs {
				assert.Equal(t, []string{filepath.Join(root, "components/shared"), filepath.Join(root, "components", tt.profile)},
					s.ResourcesPaths, "%s loads the shared components and the profile's", s.ID)
			}
		})
	}
}

func TestLoadRejectsBadRunFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"no version", "apps:\n- appDirPath: .\n", "'version'"},
		{"no apps", "version: 1\n", "no apps"},
		{"missing dir", "version: 1\napps:\n- appID: a\n  appDirPath: ./nope\n  appPort: 1\n  command: [x]\n", "nope"},
		{"unknown field", "version: 1\napps:\n- appID: a\n  appDirPath: .\n  appPrt: 1\n", "appPrt"},
		{"bad log destination", "version: 1\ncommon:\n  resourcesPaths: [.]\napps:\n- appID: a\n  appDirPath: .\n  appPort: 1\n  command: [x]\n  appLogDestination: syslog\n", "invalid log destination"},
		{"grpc app protocol", "version: 1\ncommon:\n  resourcesPaths: [.]\napps:\n- {appID: a, appDirPath: ., appPort: 1, command: [x], appProtocol: grpc}\n", "speak http or h2c"},
		{"duplicate ids", "version: 1\ncommon:\n  resourcesPaths: [.]\napps:\n- {appID: a, appDirPath: ., appPort: 1, command: [x]}\n- {appID: a, appDirPath: ., appPort: 2, command: [x]}\n", "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "dapr.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.yaml), 0o644))
			_, err := Load(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestAppOverridesCommonAndEnvMerges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "res"), 0o755))
	path := filepath.Join(dir, "dapr.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`version: 1
common:
  resourcesPaths: [./res]
  logLevel: warn
  env: {A: common, B: common}
apps:
- appID: one
  appDirPath: .
  appPort: 7000
  logLevel: debug
  env: {B: app}
  command: [./bin/one]
`), 0o644))
	specs, err := Load(path)
	require.NoError(t, err)
	s := specs[0]
	assert.Equal(t, "debug", s.LogLevel)
	assert.Equal(t, map[string]string{"A": "common", "B": "app"}, s.Env)
	assert.Equal(t, LogFile, s.DaprdLogDestination)
	assert.Equal(t, LogFileAndConsole, s.AppLogDestination)
}

func TestDaprdArgsAndAppEnvMatchTheCLI(t *testing.T) {
	t.Parallel()
	s := Spec{
		ID: "orders", Protocol: "http", ConfigFile: "/c.yaml", ResourcesPaths: []string{"/r1", "/r2"}, LogLevel: "warn",
		HealthCheck: true, HealthPath: "/healthz", HealthInterval: 1, AppPort: 8080, DaprHTTPPort: 3500,
		DaprGRPCPort: 50001, DaprInternalGRPCPort: 50101, MetricsPort: 9090, Env: map[string]string{"LOG_FORMAT": "text"},
	}
	assert.Equal(t, "--config /c.yaml --app-protocol http --log-level warn --app-max-concurrency -1 "+
		"--resources-path /r1 --resources-path /r2 --enable-app-health-check --app-health-check-path /healthz "+
		"--app-health-probe-interval 1 --app-id orders --app-port 8080 --dapr-http-port 3500 --dapr-grpc-port 50001 "+
		"--metrics-port 9090 --dapr-internal-grpc-port 50101", strings.Join(s.DaprdArgs(), " "))
	env := s.AppEnv([]string{"PATH=/bin", "APP_PORT=1"})
	assert.Equal(t, "PATH=/bin", env[0])
	assert.Contains(t, env, "APP_ID=orders")
	assert.Contains(t, env, "DAPR_GRPC_PORT=50001")
	assert.Equal(t, "LOG_FORMAT=text", env[len(env)-1], "the run file's env comes last and wins")
}

func TestIsolationRendersTheProjectResources(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	iso := Isolation{
		Suffix: "x1", TopicPrefix: "tx1.", Dir: t.TempDir(),
		Overrides: map[string]map[string]string{"pubsub": {"redisHost": "127.0.0.1:1"}},
	}
	dir, err := iso.render([]string{filepath.Join(root, "components/shared"), filepath.Join(root, "components/redis")},
		[]string{"orders", "inventory", "payments", "shipping", "notifications", "deadletters", "console"})
	require.NoError(t, err)

	docs := readDocs(t, dir)
	var sawSubscription, sawPubsub bool
	for _, d := range docs {
		for _, s := range asSlice(d["scopes"]) {
			assert.True(t, strings.HasSuffix(s.(string), "-x1"), "scope %v is isolated", s)
		}
		spec, _ := d["spec"].(map[string]any)
		switch d["kind"] {
		case "Subscription":
			sawSubscription = true
			assert.True(t, strings.HasPrefix(spec["topic"].(string), "tx1."))
			if dl, ok := spec["deadLetterTopic"].(string); ok { // the deadletters app's own subscriptions have none
				assert.True(t, strings.HasPrefix(dl, "tx1."))
			}
		case "Resiliency":
			apps := spec["targets"].(map[string]any)["apps"].(map[string]any)
			assert.Contains(t, apps, "orders-x1")
		case "Component":
			if d["metadata"].(map[string]any)["name"] == "pubsub" {
				sawPubsub = true
				for _, m := range asSlice(spec["metadata"]) {
					if m.(map[string]any)["name"] == "redisHost" {
						assert.Equal(t, "127.0.0.1:1", m.(map[string]any)["value"])
					}
				}
			}
		}
	}
	assert.True(t, sawSubscription)
	assert.True(t, sawPubsub)
}

func TestIsolationRejectsOverridesThatMatchNothing(t *testing.T) {
	t.Parallel()
	iso := Isolation{Dir: t.TempDir(), Overrides: map[string]map[string]string{"pubsub": {"redisHots": "x"}}}
	_, err := iso.render([]string{filepath.Join(repoRoot(t), "components/redis")}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pubsub/redisHots")
}

func TestRewriteScopes(t *testing.T) {
	t.Parallel()
	iso := Isolation{Suffix: "s", TopicPrefix: "p."}
	mapID := func(id string) string { return iso.AppID(id) }
	assert.Equal(t, "orders-s=p.order.placed,p.order.cancelled;payments-s=", iso.rewriteScopes("orders=order.placed,order.cancelled;payments=", mapID))
}

func TestPreflightNamesUnreachableDependencies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(`apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - {name: redisHost, value: "127.0.0.1:1"}
`), 0o644))
	err := Preflight([]Spec{{Dir: dir, ResourcesPaths: []string{dir}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Redis is not reachable at 127.0.0.1:1")
	assert.Contains(t, err.Error(), `component "pubsub"`)
}

func TestEndpointParsing(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "127.0.0.1:5672", hostFromURL("amqp://guest:guest@127.0.0.1:5672/vhost", "5672"))
	assert.Equal(t, "broker:1883", hostFromURL("tcp://broker", "1883"))
	assert.Equal(t, "db:5433", hostFromKeyValues("host=db port=5433 user=postgres dbname=x", "5432"))
	assert.Equal(t, "127.0.0.1:3306", hostFromMySQLDSN("root:@tcp(127.0.0.1:3306)/orders?parseTime=true"))
}

func readDocs(t *testing.T, dir string) []map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	var out []map[string]any
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, chunk := range strings.Split(string(raw), "\n---\n") {
			var d map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(chunk), &d))
			if d != nil {
				out = append(out, d)
			}
		}
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
