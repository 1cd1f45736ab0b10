package componentcheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeContrib is a components-contrib tree with one component package, state/<dir>, whose
// GetComponentMetadata reflects a struct using every way a metadata key is named: mapstructure names and
// aliases, json names, an embedded struct from another package, and fields the decoder skips. (In
// components-contrib v1.18.3 only state.etcd v2 lacks a metadata.yaml, so the real tree no longer shows
// these.)
func fakeContrib(t *testing.T, dirs ...string) string {
	t.Helper()
	files := map[string]string{
		"common/auth/auth.go": `package auth

type Options struct {
	Region string ` + "`mapstructure:\"region\" mapstructurealiases:\"awsRegion\"`" + `
}
`,
	}
	for _, dir := range dirs {
		files["state/"+dir+"/fake.go"] = `package fake

import (
	"reflect"

	"github.com/dapr/components-contrib/common/auth"
	"github.com/dapr/components-contrib/metadata"
)

const tableKey = "tableName"

type fakeMetadata struct {
	auth.Options
	ProjectID string ` + "`mapstructure:\"project_id\" mdaliases:\"projectId\"`" + `
	Endpoint  string ` + "`json:\"endpoint\"`" + `
	NoIndex   bool
	Internal  string ` + "`mapstructure:\"-\"`" + `
	hidden    string
}

type Store struct{}

func (s *Store) Init(props map[string]string, m metadata.Base) {
	_ = m.Properties[tableKey]
	_, _ = metadata.GetMetadataProperty(m.Properties, "ttlInSeconds", "ttl")
}

func (s *Store) GetComponentMetadata() (info metadata.MetadataMap) {
	metadataStruct := fakeMetadata{}
	metadata.GetMetadataInfoFromStructType(reflect.TypeOf(metadataStruct), &info, metadata.StateStoreType)
	return
}
`
	}
	return writeTree(t, files)
}

func TestDeriveFieldsFromSource(t *testing.T) {
	t.Parallel()
	r := &sourceReader{contribDir: fakeContrib(t, "fake"), pkgs: map[string]*goPackage{}}
	fields, structName, err := r.deriveFields(contribModule + "/state/fake")
	require.NoError(t, err)
	assert.Equal(t, "fakeMetadata", structName)
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
		assert.False(t, f.Required || f.Sensitive, "Go source carries no required or sensitive flags: %s", f.Name)
	}
	assert.ElementsMatch(t, []string{
		"Region", "region", "awsRegion", // embedded from another package, with its alias
		"ProjectID", "project_id", "projectId", // mapstructure name and mdaliases
		"Endpoint", "endpoint", // json name
		"NoIndex", // untagged: the field name
	}, names, "mapstructure:\"-\" and unexported fields are skipped")
	assert.ElementsMatch(t, []string{"tableName", "ttlInSeconds", "ttl"}, r.sourceKeys(contribModule+"/state/fake"),
		"keys read through a constant and through GetMetadataProperty")
}

// A component without metadata.yaml is defined by its Go struct; a cloud one also gets its cloud's built-in
// authentication profiles, which tell whether it can run on workload identity.
func TestCatalogDefinitionFromSource(t *testing.T) {
	t.Parallel()
	contrib := fakeContrib(t, "fake", "aws/fake")
	registration := func(typ, dir string) *Registration {
		return &Registration{Type: typ, Versions: []string{"v1"}, Packages: map[string]string{"v1": contribModule + "/state/" + dir}}
	}
	cat := &Catalog{
		Modules: Modules{ContribDir: contrib},
		registrations: map[string]*Registration{
			"state.fake":     registration("state.fake", "fake"),
			"state.aws.fake": registration("state.aws.fake", "aws/fake"),
		},
		metadataFiles: map[string]*Definition{},
		source:        &sourceReader{contribDir: contrib, pkgs: map[string]*goPackage{}},
		derived:       map[string]lookupResult{},
	}
	tests := []struct {
		name     string
		typ      string
		source   string
		profiles int
		identity bool
	}{
		{name: "no cloud: no profiles", typ: "state.fake", source: "state/fake (Go source: GetComponentMetadata reflects fakeMetadata)"},
		{name: "aws: the built-in aws profiles", typ: "state.aws.fake", source: "state/aws/fake (Go source: GetComponentMetadata reflects fakeMetadata)", profiles: 4, identity: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def, err := cat.Definition(tt.typ, "v1")
			require.NoError(t, err)
			assert.True(t, def.FromSource)
			assert.Equal(t, tt.source, def.Source)
			assert.Len(t, def.Profiles, tt.profiles)
			assert.Equal(t, tt.identity, def.hasIdentityProfile())
			assert.Contains(t, def.allFields(), "project_id")
			assert.Contains(t, def.SourceKeys, "tableName", "keys the code reads beyond the struct are accepted")
		})
	}
}
