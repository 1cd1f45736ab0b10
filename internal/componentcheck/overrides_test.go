package componentcheck

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/component"
)

// Each override must show in the catalog: the key optional again, or the ambient-identity profile added.
// (LoadCatalog already failed if an override no longer matched its metadata.yaml.)
func TestMetadataOverridesApplyToContrib(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	for _, o := range metadataOverrides {
		t.Run(o.Type+" "+o.Key, func(t *testing.T) {
			t.Parallel()
			assert.NotEmpty(t, o.Why, "every override says why")
			assert.NotEmpty(t, o.Evidence, "every override cites components-contrib's code")
			def, err := cat.Definition(o.Type, "v1")
			require.NoError(t, err)
			switch o.Fix {
			case perRequest:
				f, ok := def.allFields()[strings.ToLower(o.Key)]
				require.True(t, ok, "%s declares %s", o.Type, o.Key)
				assert.False(t, f.Required, "%s is optional after the override", o.Key)
			case awsDefaultChain:
				assert.True(t, def.hasIdentityProfile(), "%s can run on the AWS default credential chain", o.Type)
			default:
				t.Fatalf("unknown fix %d", o.Fix)
			}
		})
	}
}

func TestApplyOverrides(t *testing.T) {
	t.Parallel()
	// defs returns a fresh copy of a small set of definitions, as loadMetadataFiles would.
	defs := func() map[string]*Definition {
		return map[string]*Definition{
			"bindings.mail@v1": {Type: "bindings.mail", Version: "v1", Source: "bindings/mail/metadata.yaml",
				Fields: []Field{{Name: "host", Required: true}, {Name: "emailTo", Required: true}, {Name: "subject"}},
				Profiles: []Profile{{Title: "keys", Fields: []Field{
					{Name: "accessKey", Required: true}, {Name: "secretKey", Required: true}, {Name: "region", Required: true},
				}}},
			},
			"bindings.identity@v1": {Type: "bindings.identity", Version: "v1", Source: "bindings/identity/metadata.yaml",
				Profiles: []Profile{{Title: "chain", Identity: true}, {Title: "keys", Fields: []Field{{Name: "accessKey", Required: true}}}},
			},
		}
	}
	tests := []struct {
		name     string
		override metadataOverride
		wantErr  string
		check    func(t *testing.T, def *Definition)
	}{
		{
			name:     "per-request key made optional",
			override: metadataOverride{Type: "bindings.mail", Key: "EMAILTO", Fix: perRequest},
			check: func(t *testing.T, def *Definition) {
				t.Helper()
				assert.False(t, def.allFields()["emailto"].Required)
				assert.True(t, def.allFields()["host"].Required, "other keys keep their flags")
			},
		},
		{
			name:     "default credential chain added",
			override: metadataOverride{Type: "bindings.mail", Key: "accessKey", Fix: awsDefaultChain},
			check: func(t *testing.T, def *Definition) {
				t.Helper()
				require.Len(t, def.Profiles, 2)
				added := def.Profiles[1]
				assert.Equal(t, awsDefaultChainTitle, added.Title)
				assert.True(t, added.Identity)
				assert.False(t, needsOwnKey(added, indexFields(def.Fields)), "the chain needs no key")
				ok, _, detail := satisfiedProfile(def, []component.Item{{Name: "region", HasValue: true, Value: "eu-west-1"}}, map[string]bool{"region": true})
				assert.True(t, ok, "region alone selects the chain: %s", detail)
			},
		},
		{name: "stale: key no longer required", override: metadataOverride{Type: "bindings.mail", Key: "subject", Fix: perRequest}, wantErr: "subject is no longer marked required"},
		{name: "stale: key gone", override: metadataOverride{Type: "bindings.mail", Key: "fileName", Fix: perRequest}, wantErr: "fileName is not in its metadata"},
		{name: "stale: component gone", override: metadataOverride{Type: "bindings.fax", Key: "number", Fix: perRequest}, wantErr: "components-contrib has no metadata.yaml for bindings.fax"},
		{name: "stale: identity profile already there", override: metadataOverride{Type: "bindings.identity", Key: "accessKey", Fix: awsDefaultChain}, wantErr: "already has an ambient-identity profile"},
		{name: "stale: no profile requires the key", override: metadataOverride{Type: "bindings.mail", Key: "sessionToken", Fix: awsDefaultChain}, wantErr: "no authentication profile requires sessionToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := defs()
			err := applyOverrides(d, []metadataOverride{tt.override})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), "remove it from metadataOverrides")
				return
			}
			require.NoError(t, err)
			tt.check(t, d[definitionKey(tt.override.Type, "v1")])
		})
	}
}

// A component importing the "gcp" profile set gets the Application Default Credentials profile only once
// its code has been read and it is listed in gcpImplicitCredentials; this fails for one not yet read, and
// for a listed type that no longer imports the set.
func TestGCPImplicitCredentialsCoverTheGCPProfileSet(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	importers := map[string]bool{}
	for _, def := range cat.metadataFiles {
		for _, p := range def.Profiles {
			if p.Builtin == "gcp" {
				importers[def.Type] = true
			}
		}
	}
	require.NotEmpty(t, importers)
	for typ := range importers {
		_, listed := gcpImplicitCredentials[typ]
		assert.True(t, listed, "%s imports the gcp profile set: read whether its code falls back to Application Default Credentials and list it in gcpImplicitCredentials", typ)
	}
	for typ := range gcpImplicitCredentials {
		assert.True(t, importers[typ], "%s is listed in gcpImplicitCredentials but imports no gcp profile set", typ)
	}
}
