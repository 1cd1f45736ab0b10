package componentcheck

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/component"
)

func TestCredentialName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want bool
	}{
		{key: "redisPassword", want: true},
		{key: "password", want: true},
		{key: "connectionString", want: true},
		{key: "accessKey", want: true},
		{key: "secretKey", want: true},
		{key: "apiKey", want: true},
		{key: "privateKey", want: true},
		{key: "private_key", want: true},
		{key: "MTLSClientKey", want: true},
		{key: "sessionToken", want: true},
		{key: "azureClientSecret", want: true},
		{key: "partitionKey", want: false},
		{key: "orderingKey", want: false},
		{key: "keyPrefix", want: false},
		{key: "key", want: false},
		{key: "tokenURI", want: false},
		{key: "securityTokenHeader", want: false},
		{key: "secretsFile", want: false},
		{key: "privateKeyID", want: false}, // sensitive by definition (gcp profile), not by name
		{key: "redisHost", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, credentialName(tt.key))
		})
	}
}

func TestCamelWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{in: "redisHost", want: []string{"redis", "host"}},
		{in: "MTLSClientKey", want: []string{"mtls", "client", "key"}},
		{in: "privateKeyID", want: []string{"private", "key", "id"}},
		{in: "auth_provider_x509_cert_url", want: []string{"auth", "provider", "x509", "cert", "url"}},
		{in: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, camelWords(tt.in))
		})
	}
}

func TestBuiltinProfiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		set      string
		typ      string
		titles   int
		identity bool
		wantErr  bool
	}{
		{name: "aws has keys, the SDK default chain, an assumed role and Roles Anywhere", set: "aws", typ: "state.aws.dynamodb", titles: 4, identity: true},
		{name: "azuread has managed and workload identity", set: "azuread", typ: "secretstores.azure.keyvault", titles: 3, identity: true},
		{name: "gcp pubsub falls back to workload identity", set: "gcp", typ: "pubsub.gcp.pubsub", titles: 2, identity: true},
		{name: "gcp secret manager falls back to workload identity", set: "gcp", typ: "secretstores.gcp.secretmanager", titles: 2, identity: true},
		{name: "gcp component not known to fall back gets the key profile only", set: "gcp", typ: "bindings.gcp.storage", titles: 1},
		{name: "unknown set", set: "oci", typ: "state.oci.objectstorage", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			profiles, err := builtinProfiles(tt.set, tt.typ)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, profiles, tt.titles)
			def := Definition{Profiles: profiles}
			assert.Equal(t, tt.identity, def.hasIdentityProfile())
			for _, p := range profiles {
				assert.Equal(t, tt.set, p.Builtin)
			}
		})
	}
}

func TestSatisfiedProfile(t *testing.T) {
	t.Parallel()
	keyProfile := Profile{Title: "key", Fields: []Field{{Name: "accountName", Required: true}, {Name: "accountKey", Required: true, Sensitive: true}}}
	identity := Profile{Title: "identity", Identity: true, Builtin: "azuread", Fields: []Field{{Name: "accountName", Required: true}, {Name: "azureClientId"}}}
	optIn := Profile{Title: "entra", Identity: true, Builtin: "azuread", Fields: []Field{{Name: "useEntraID"}, {Name: "enableTLS", Required: true}}}
	tests := []struct {
		name        string
		def         Definition
		keys        []string
		want        bool
		wantMissing string
	}{
		{name: "no profiles", def: Definition{}, want: true},
		{name: "complete key profile", def: Definition{Profiles: []Profile{keyProfile, identity}}, keys: []string{"accountName", "accountKey"}, want: true},
		{name: "identity profile with its own requirement", def: Definition{Profiles: []Profile{keyProfile, identity}}, keys: []string{"accountName"}, want: true},
		{name: "identity profile missing its own requirement", def: Definition{Profiles: []Profile{keyProfile, identity}}, want: false, wantMissing: "accountName"},
		{name: "a key no complete profile takes", def: Definition{Profiles: []Profile{keyProfile, identity}}, keys: []string{"accountName", "azureClientId", "accountKey"}, want: false},
		{name: "opt-in built-in profile left unused", def: Definition{Fields: []Field{{Name: "enableTLS"}}, Profiles: []Profile{optIn}}, want: true},
		{name: "opt-in built-in profile half configured", def: Definition{Fields: []Field{{Name: "enableTLS"}}, Profiles: []Profile{optIn}}, keys: []string{"useEntraID"}, want: false, wantMissing: "enableTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			present := map[string]bool{}
			var items []component.Item
			for _, k := range tt.keys {
				items = append(items, component.Item{Name: k, HasValue: true, Value: "x"})
				present[strings.ToLower(k)] = true
			}
			ok, missing, detail := satisfiedProfile(&tt.def, items, present)
			assert.Equal(t, tt.want, ok, detail)
			assert.Equal(t, tt.wantMissing, missing)
		})
	}
}

func TestTopicAllowed(t *testing.T) {
	t.Parallel()
	props := map[string]string{
		"publishingscopes": "orders=order.placed,orders.deadletter;notifications=",
		"protectedtopics":  "audit",
	}
	tests := []struct {
		name  string
		topic string
		app   string
		props map[string]string
		want  bool
	}{
		{name: "listed topic", topic: "order.placed", app: "orders", props: props, want: true},
		{name: "unlisted topic of a listed app", topic: "payment.failed", app: "orders", props: props, want: false},
		{name: "app listed without topics is unrestricted", topic: "anything", app: "notifications", props: props, want: true},
		{name: "unlisted app is unrestricted", topic: "anything", app: "shipping", props: props, want: true},
		{name: "protected topic needs a grant", topic: "audit", app: "shipping", props: props, want: false},
		{name: "allowedTopics restrict everyone", topic: "order.placed", app: "orders", props: map[string]string{"allowedtopics": "stock.reserved"}, want: false},
		{name: "no scoping at all", topic: "order.placed", app: "orders", props: map[string]string{}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, topicAllowed(tt.topic, tt.app, tt.props, "publishingScopes"))
		})
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	candidates := []string{"redisHost", "redisPassword", "redisDB"}
	tests := []struct {
		name string
		got  string
		want string
	}{
		{name: "transposition", got: "redisHots", want: ` (did you mean "redisHost"?)`},
		{name: "case is not a typo", got: "REDISHOST", want: ""},
		{name: "too far for a typo", got: "hostname", want: ""},
		{name: "missing letter", got: "redisPasword", want: ` (did you mean "redisPassword"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, suggest(tt.got, candidates))
		})
	}
}
