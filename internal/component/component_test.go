package component

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		doc         string
		want        *Component
		wantUnknown []UnknownField
	}{
		{
			name: "every field, with lines",
			doc: `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - name: redisHost
      value: localhost:6379
    - name: redisPassword
      secretKeyRef:
        name: redis
        key: password
    - name: region
      envRef: AWS_REGION
auth:
  secretStore: secretstore
scopes:
  - orders
  - inventory
`,
			want: &Component{
				File: "pubsub.yaml", Line: 1, APIVersion: "dapr.io/v1alpha1", Name: "pubsub",
				Type: "pubsub.redis", Version: "v1", TypeLine: 6,
				Metadata: []Item{
					{Name: "redisHost", Line: 9, HasValue: true, Value: "localhost:6379"},
					{Name: "redisPassword", Line: 11, SecretKeyRef: &SecretKeyRef{Name: "redis", Key: "password"}},
					{Name: "region", Line: 15, EnvRef: "AWS_REGION"},
				},
				SecretStore: "secretstore", SecretStoreLine: 18, Scopes: []string{"orders", "inventory"}, ScopesLine: 20,
			},
		},
		{
			name: "misspelt fields are listed where they are",
			doc: `kind: Component
metadata:
  name: store
  labels: {}
  nmae: typo
spec:
  type: state.redis
  metdata: []
  metadata:
    - name: redisHost
      valeu: x
    - name: redisPassword
      secretKeyRef: {name: redis, kye: password}
auth:
  secretstore: s
scope: [orders]
`,
			want: &Component{
				File: "pubsub.yaml", Line: 1, Name: "store", Type: "state.redis", TypeLine: 7,
				Metadata: []Item{
					{Name: "redisHost", Line: 10},
					{Name: "redisPassword", Line: 12, SecretKeyRef: &SecretKeyRef{Name: "redis"}},
				},
			},
			wantUnknown: []UnknownField{
				{Key: "scope", Line: 16, Where: "the Component"},
				{Key: "nmae", Line: 5, Where: "metadata"},
				{Key: "metdata", Line: 8, Where: "spec"},
				{Key: "secretstore", Line: 15, Where: "auth"},
				{Key: "valeu", Line: 11, Where: `metadata "redisHost"`},
				{Key: "kye", Line: 13, Where: `the secretKeyRef of "redisPassword"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			require.NoError(t, yaml.Unmarshal([]byte(tt.doc), &doc))
			got, unknown := Parse("pubsub.yaml", document(&doc))
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantUnknown, unknown)
		})
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		content   string
		wantNames []string
		wantErr   string
	}{
		{
			name: "components only, across documents",
			content: `# a comment before the first document
---
kind: Component
metadata: {name: pubsub}
spec: {type: pubsub.redis, version: v1}
---
kind: Subscription
metadata: {name: orders}
---
kind: Component
metadata: {name: store}
spec: {type: state.redis, version: v1}
`,
			wantNames: []string{"pubsub", "store"},
		},
		{name: "not YAML", content: "kind: [Component\n", wantErr: "components.yaml: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "components.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			comps, err := ReadFile(path)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var names []string
			for _, c := range comps {
				assert.Equal(t, path, c.File)
				names = append(names, c.Name)
			}
			assert.Equal(t, tt.wantNames, names)
		})
	}
}

func TestItemMatchesNamesAsDaprDoes(t *testing.T) {
	t.Parallel()
	c := &Component{Metadata: []Item{{Name: "redisHost", HasValue: true, Value: "localhost:6379"}}}
	tests := []struct {
		key  string
		want bool
	}{
		{"redisHost", true},
		{"REDISHOST", true},
		{"redisPassword", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			it, ok := c.Item(tt.key)
			assert.Equal(t, tt.want, ok)
			if ok {
				assert.Equal(t, "localhost:6379", it.Value)
			}
		})
	}
}
