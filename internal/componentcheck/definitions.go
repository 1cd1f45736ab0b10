package componentcheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Field is one metadata key a component accepts.
type Field struct {
	Name      string
	Required  bool
	Sensitive bool
	Default   string
	// Direction restricts a binding's field to "input" or "output" bindings; empty for both.
	Direction string
}

// Profile is one way of authenticating a component: the keys it takes and which of them it requires.
type Profile struct {
	Title  string
	Fields []Field
	// Identity profiles authenticate with an ambient identity (workload identity, managed identity, the
	// cloud SDK's default credential chain) and need no credential in the metadata.
	Identity bool
	// Builtin names the built-in profile set this profile was expanded from; empty for the component's own.
	Builtin string
}

// Definition is what one component type and version accepts.
type Definition struct {
	Type    string
	Version string
	// Source tells where the definition was read, relative to the components-contrib module.
	Source   string
	Fields   []Field
	Profiles []Profile
	// FromSource is true when there is no metadata.yaml and the keys come from the Go struct the component
	// reports through GetComponentMetadata; such definitions know no required or sensitive flags.
	FromSource bool
	// Capabilities are the features metadata.yaml declares (etag, transactional, ttl, …); empty when unknown.
	Capabilities []string
	// SourceKeys are keys the component's Go code reads from its properties by name although the
	// definition does not list them (e.g. errorIfNot2XX in bindings.http). They are accepted: they are not
	// typos, whatever the documentation says.
	SourceKeys []string
}

// metadataFile is the part of a components-contrib metadata.yaml the checker uses.
type metadataFile struct {
	SchemaVersion          string          `yaml:"schemaVersion"`
	Type                   string          `yaml:"type"`
	Name                   string          `yaml:"name"`
	Version                string          `yaml:"version"`
	Metadata               []metadataField `yaml:"metadata"`
	Capabilities           []string        `yaml:"capabilities"`
	AuthenticationProfiles []struct {
		Title    string          `yaml:"title"`
		Metadata []metadataField `yaml:"metadata"`
	} `yaml:"authenticationProfiles"`
	BuiltinAuthenticationProfiles []struct {
		Name     string          `yaml:"name"`
		Metadata []metadataField `yaml:"metadata"`
	} `yaml:"builtinAuthenticationProfiles"`
}

type metadataField struct {
	Name      string `yaml:"name"`
	Required  bool   `yaml:"required"`
	Sensitive bool   `yaml:"sensitive"`
	Default   string `yaml:"default"`
	Binding   *struct {
		Input  bool `yaml:"input"`
		Output bool `yaml:"output"`
	} `yaml:"binding"`
}

func (m metadataField) field() Field {
	f := Field{Name: m.Name, Required: m.Required, Sensitive: m.Sensitive, Default: m.Default}
	if m.Binding != nil && m.Binding.Input != m.Binding.Output {
		f.Direction = "output"
		if m.Binding.Input {
			f.Direction = "input"
		}
	}
	return f
}

func fields(ms []metadataField) []Field {
	out := make([]Field, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.field())
	}
	return out
}

// loadMetadataFiles reads every metadata.yaml of components-contrib, keyed by definitionKey.
func loadMetadataFiles(contribDir string) (map[string]*Definition, error) {
	defs := map[string]*Definition{}
	err := filepath.WalkDir(contribDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "metadata.yaml" {
			return nil
		}
		def, err := readMetadataFile(contribDir, p)
		if err != nil {
			return err
		}
		if def != nil {
			defs[definitionKey(def.Type, def.Version)] = def
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("no metadata.yaml found under %s", contribDir)
	}
	return defs, nil
}

// readMetadataFile parses one metadata.yaml; files that are not component definitions yield nil.
func readMetadataFile(contribDir, p string) (*Definition, error) {
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var mf metadataFile
	if err := yaml.Unmarshal(raw, &mf); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if mf.SchemaVersion != "v1" || mf.Type == "" || mf.Name == "" {
		return nil, nil
	}
	rel, _ := filepath.Rel(contribDir, p)
	typ := strings.ToLower(mf.Type + "." + mf.Name)
	def := &Definition{
		Type:         typ,
		Version:      strings.ToLower(mf.Version),
		Source:       filepath.ToSlash(rel),
		Fields:       fields(mf.Metadata),
		Capabilities: mf.Capabilities,
	}
	for _, ap := range mf.AuthenticationProfiles {
		def.Profiles = append(def.Profiles, Profile{Title: ap.Title, Fields: fields(ap.Metadata)})
	}
	for _, bp := range mf.BuiltinAuthenticationProfiles {
		expanded, err := builtinProfiles(bp.Name, typ)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", def.Source, err)
		}
		// As in components-contrib's own expansion, the metadata listed with the reference (e.g.
		// namespaceName for Service Bus) is added to every profile of the set.
		extra := fields(bp.Metadata)
		for _, p := range expanded {
			p.Fields = append(append([]Field(nil), extra...), p.Fields...)
			def.Profiles = append(def.Profiles, p)
		}
	}
	return def, nil
}

func definitionKey(typ, version string) string {
	return strings.ToLower(typ) + "@" + strings.ToLower(version)
}

// fieldIndex is a case-insensitive view of a definition's keys, as Dapr matches metadata keys.
type fieldIndex map[string]Field

func indexFields(groups ...[]Field) fieldIndex {
	idx := fieldIndex{}
	for _, g := range groups {
		for _, f := range g {
			k := strings.ToLower(f.Name)
			have, ok := idx[k]
			if !ok {
				idx[k] = f
				continue
			}
			// A key listed twice (base metadata and a profile) is sensitive if either says so.
			have.Sensitive = have.Sensitive || f.Sensitive
			idx[k] = have
		}
	}
	return idx
}

// allFields returns every key the definition declares: its metadata and all of its profiles'.
func (d *Definition) allFields() fieldIndex {
	groups := [][]Field{d.Fields}
	for _, p := range d.Profiles {
		groups = append(groups, p.Fields)
	}
	return indexFields(groups...)
}

// names returns the declared key names (metadata, profiles and source-read keys), sorted, for suggestions.
func (d *Definition) names() []string {
	var out []string
	for _, f := range d.allFields() {
		out = append(out, f.Name)
	}
	out = append(out, d.SourceKeys...)
	sort.Strings(out)
	return out
}

// hasIdentityProfile reports whether the component can authenticate without credentials in its metadata.
func (d *Definition) hasIdentityProfile() bool {
	for _, p := range d.Profiles {
		if p.Identity {
			return true
		}
	}
	return false
}
