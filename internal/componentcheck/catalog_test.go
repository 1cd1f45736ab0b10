package componentcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCatalogRegistrations(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	tests := []struct {
		name          string
		typ           string
		versions      []string
		stable        bool
		input, output bool
		pkg           string // implementation of the first version
	}{
		{name: "plain registration", typ: "pubsub.redis", versions: []string{"v1"}, stable: true, pkg: "github.com/dapr/components-contrib/pubsub/redis"},
		{name: "allcomponents-only registration", typ: "bindings.aws.ses", versions: []string{"v1"}, output: true, pkg: "github.com/dapr/components-contrib/bindings/aws/ses"},
		{name: "input-only binding", typ: "bindings.cron", versions: []string{"v1"}, stable: true, input: true, pkg: "github.com/dapr/components-contrib/bindings/cron"},
		{name: "input and output binding in a function literal", typ: "bindings.kafka", versions: []string{"v1"}, stable: true, input: true, output: true, pkg: "github.com/dapr/components-contrib/bindings/kafka"},
		{name: "versioned registration", typ: "state.postgresql", versions: []string{"v1", "v2"}, stable: true, pkg: "github.com/dapr/components-contrib/state/postgresql/v1"},
		{name: "alias registered with the same constructor", typ: "pubsub.azure.servicebus", versions: []string{"v1"}, stable: true, pkg: "github.com/dapr/components-contrib/pubsub/azure/servicebus/topics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, ok := cat.Registration(tt.typ)
			require.True(t, ok, "daprd registers %s", tt.typ)
			assert.Equal(t, tt.versions, reg.Versions)
			assert.Equal(t, tt.stable, reg.Stable, "stable")
			assert.Equal(t, tt.input, reg.Input, "input")
			assert.Equal(t, tt.output, reg.Output, "output")
			assert.Equal(t, tt.pkg, reg.Package(tt.versions[0]))
		})
	}
	_, ok := cat.Registration("pubsub.redsi")
	assert.False(t, ok)
}

func TestRegistrationAcceptsVersion(t *testing.T) {
	t.Parallel()
	plain := &Registration{Versions: []string{"v1"}}
	versioned := &Registration{Versioned: true, Versions: []string{"v1", "v2"}}
	tests := []struct {
		name    string
		reg     *Registration
		version string
		want    bool
	}{
		{name: "plain v1", reg: plain, version: "v1", want: true},
		{name: "plain v0 is an initial version too", reg: plain, version: "v0", want: true},
		{name: "plain v2", reg: plain, version: "v2", want: false},
		{name: "versioned v2", reg: versioned, version: "V2", want: true},
		{name: "versioned v3", reg: versioned, version: "v3", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.reg.AcceptsVersion(tt.version))
		})
	}
}

func TestBuildsWith(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		src             string
		inAll, inStable bool
	}{
		{name: "stable", src: "//go:build allcomponents || stablecomponents\n\npackage c\n", inAll: true, inStable: true},
		{name: "all only", src: "//go:build allcomponents\n\npackage c\n", inAll: true},
		{name: "platform exclusion", src: "//go:build !(linux && arm) && allcomponents\n\npackage c\n", inAll: true},
		{name: "neither", src: "//go:build !allcomponents && !stablecomponents\n\npackage c\n"},
		{name: "opt-in tag", src: "//go:build wfbackendsqlite\n\npackage c\n"},
		{name: "no constraint", src: "package c\n", inAll: true, inStable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			all, stable, err := buildsWith([]byte(tt.src))
			require.NoError(t, err)
			assert.Equal(t, tt.inAll, all, "allcomponents")
			assert.Equal(t, tt.inStable, stable, "stablecomponents")
		})
	}
}

func TestCatalogDefinitions(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	tests := []struct {
		name       string
		typ        string
		version    string
		source     string // prefix of Definition.Source
		fromSource bool
		hasKeys    []string
		sourceKeys []string
		identity   bool
	}{
		{name: "metadata.yaml", typ: "pubsub.redis", version: "v1", source: "pubsub/redis/metadata.yaml", hasKeys: []string{"redisHost", "redisPassword", "maxLenApprox"}, identity: true},
		{name: "versioned metadata.yaml", typ: "state.postgresql", version: "v2", source: "state/postgresql/v2/metadata.yaml", hasKeys: []string{"connectionString", "tablePrefix"}, identity: true},
		{name: "alias resolved through the registration's package", typ: "state.postgres", version: "v1", source: "state/postgresql/v1/metadata.yaml", hasKeys: []string{"tableName"}, identity: true},
		{name: "keys the code reads but metadata.yaml omits", typ: "state.sqlserver", version: "v1", source: "state/sqlserver/metadata.yaml", hasKeys: []string{"connectionString"}, sourceKeys: []string{"cleanupIntervalInSeconds"}, identity: true},
		// etcd's metadata.yaml describes v1 only; daprd's preferred v2 comes from the Go struct.
		{name: "no metadata.yaml for the version: Go struct", typ: "state.etcd", version: "v2", source: "state/etcd (Go source: GetComponentMetadata reflects etcdConfig)", fromSource: true, hasKeys: []string{"endpoints", "keyPrefixPath", "tlsEnable"}},
		{name: "own authentication profiles with implicit credentials", typ: "state.gcp.firestore", version: "v1", source: "state/gcp/firestore/metadata.yaml", hasKeys: []string{"project_id", "entity_kind", "private_key", "endpoint"}},
		{name: "built-in aws profiles", typ: "state.aws.dynamodb", version: "v1", source: "state/aws/dynamodb/metadata.yaml", hasKeys: []string{"table", "accessKey", "secretKey", "sessionToken", "assumeRoleArn", "trustAnchorArn"}, identity: true},
		{name: "access-key-only metadata.yaml corrected by an override", typ: "bindings.aws.ses", version: "v1", source: "bindings/aws/ses/metadata.yaml", hasKeys: []string{"region", "accessKey", "emailFrom"}, identity: true},
		{name: "built-in gcp profile with workload identity: bucket", typ: "bindings.gcp.bucket", version: "v1", source: "bindings/gcp/bucket/metadata.yaml", hasKeys: []string{"bucket", "privateKey", "clientEmail"}, identity: true},
		{name: "built-in gcp profile with workload identity: secret manager", typ: "secretstores.gcp.secretmanager", version: "v1", source: "secretstores/gcp/secretmanager/metadata.yaml", hasKeys: []string{"projectID", "privateKeyID"}, identity: true},
		{name: "built-in gcp profile with workload identity: pub/sub", typ: "pubsub.gcp.pubsub", version: "v1", source: "pubsub/gcp/pubsub/metadata.yaml", hasKeys: []string{"projectID", "privateKeyID", "identityProjectID"}, identity: true},
		{name: "no profiles at all", typ: "secretstores.hashicorp.vault", version: "v1", source: "secretstores/hashicorp/vault/metadata.yaml", hasKeys: []string{"vaultAddr", "vaultToken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def, err := cat.Definition(tt.typ, tt.version)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(def.Source, tt.source), "source %q", def.Source)
			assert.Equal(t, tt.fromSource, def.FromSource)
			assert.Equal(t, tt.identity, def.hasIdentityProfile(), "identity profile")
			fields := def.allFields()
			for _, k := range tt.hasKeys {
				assert.Contains(t, fields, strings.ToLower(k), "%s declares %s", tt.typ, k)
			}
			for _, k := range tt.sourceKeys {
				assert.Contains(t, def.SourceKeys, k)
			}
		})
	}
}

func TestCatalogDefinitionErrors(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	tests := []struct {
		name    string
		typ     string
		version string
		want    error
	}{
		{name: "unknown type", typ: "state.nosuchstore", version: "v1", want: errUnknownType},
		{name: "unknown version", typ: "state.redis", version: "v2", want: errUnknownVersion},
		// daprd's uppercase middleware is implemented in dapr itself, so components-contrib says nothing about it.
		{name: "registered without a definition", typ: "middleware.http.uppercase", version: "v1", want: errNoDefinition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := cat.Definition(tt.typ, tt.version)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

// Every key daprLevelKeys allows must still be read by the daprd source the comment on it cites, so the
// table cannot outlive a runtime upgrade unnoticed.
func TestDaprLevelKeysAreReadByDaprd(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	readers := map[string][]string{
		"pkg/runtime/processor/pubsub/pubsub.go":   {"consumerID"},
		"pkg/scopes/scopes.go":                     {"publishingScopes", "subscriptionScopes", "allowedTopics", "protectedTopics"},
		"pkg/components/state/state_config.go":     {"keyPrefix"},
		"pkg/runtime/processor/state/state.go":     {"actorStateStore"},
		"pkg/runtime/pubsub/outbox.go":             {"outboxPublishPubsub", "outboxPublishTopic", "outboxPubsub", "outboxDiscardWhenMissingState"},
		"pkg/runtime/processor/binding/binding.go": {"direction", "route"},
	}
	var cited []string
	for file, keys := range readers {
		src, err := os.ReadFile(filepath.Join(cat.DaprDir, filepath.FromSlash(file)))
		require.NoError(t, err)
		for _, k := range keys {
			assert.Contains(t, strings.ToLower(string(src)), `"`+strings.ToLower(k)+`"`, "%s reads %s", file, k)
			cited = append(cited, k)
		}
	}
	var allowed []string
	for _, keys := range daprLevelKeys {
		allowed = append(allowed, keys...)
	}
	assert.ElementsMatch(t, cited, allowed, "daprLevelKeys and the daprd sources cited for them")
}
