package componentcheck

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
)

// Catalog is what daprd and components-contrib say about every component type: which exist, in which
// versions, and which metadata each accepts. It is safe for concurrent use.
type Catalog struct {
	Modules

	registrations map[string]*Registration
	metadataFiles map[string]*Definition // definitionKey → definition from a metadata.yaml

	mu      sync.Mutex
	source  *sourceReader
	derived map[string]lookupResult // definitionKey → resolved definition (cached)
}

type lookupResult struct {
	def *Definition
	err error
}

// LoadCatalog reads daprd's registrations and components-contrib's metadata.yaml files from m, and corrects
// the files' known mistakes (metadataOverrides).
func LoadCatalog(m Modules) (*Catalog, error) {
	regs, err := scanRegistrations(m.DaprDir, m.ContribDir)
	if err != nil {
		return nil, fmt.Errorf("reading daprd registrations: %w", err)
	}
	files, err := loadMetadataFiles(m.ContribDir)
	if err != nil {
		return nil, fmt.Errorf("reading components-contrib metadata: %w", err)
	}
	if err := applyOverrides(files, metadataOverrides); err != nil {
		return nil, fmt.Errorf("components-contrib %s: %w", m.ContribVersion, err)
	}
	return &Catalog{
		Modules:       m,
		registrations: regs,
		metadataFiles: files,
		source:        &sourceReader{contribDir: m.ContribDir, pkgs: map[string]*goPackage{}},
		derived:       map[string]lookupResult{},
	}, nil
}

// Registration returns daprd's registration of a component type, if any.
func (c *Catalog) Registration(typ string) (*Registration, bool) {
	r, ok := c.registrations[strings.ToLower(typ)]
	return r, ok
}

// Types returns every registered component type, sorted.
func (c *Catalog) Types() []string {
	out := make([]string, 0, len(c.registrations))
	for t := range c.registrations {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Lookup errors, distinguished so that messages can say what is wrong.
var (
	errUnknownType    = errors.New("unknown component type")
	errUnknownVersion = errors.New("unknown component version")
	errNoDefinition   = errors.New("no component definition")
)

// Definition resolves what a component type and version accepts. It finds, in order: the metadata.yaml
// whose type and name make up typ at that version; the metadata.yaml in the package daprd's registration
// points at (aliases such as state.postgres → state/postgresql/v1); the struct that package's
// GetComponentMetadata reports.
func (c *Catalog) Definition(typ, version string) (*Definition, error) {
	typ, version = strings.ToLower(typ), strings.ToLower(version)
	reg, ok := c.registrations[typ]
	if !ok {
		return nil, fmt.Errorf("%w %q", errUnknownType, typ)
	}
	if !reg.AcceptsVersion(version) {
		return nil, fmt.Errorf("%w %q of %s (daprd has %s)", errUnknownVersion, version, typ, strings.Join(reg.Versions, ", "))
	}

	key := definitionKey(typ, version)
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.derived[key]; ok {
		return r.def, r.err
	}
	def, err := c.resolve(reg, typ, version)
	c.derived[key] = lookupResult{def, err}
	return def, err
}

func (c *Catalog) resolve(reg *Registration, typ, version string) (*Definition, error) {
	pkg := reg.Package(version)
	if !reg.Versioned {
		version = initialVersion // v0 and v1 are one implementation
	}
	var def *Definition
	if d, ok := c.metadataFiles[definitionKey(typ, version)]; ok {
		def = d
	} else if pkg != "" {
		want := strings.TrimPrefix(pkg, contribModule+"/") + "/metadata.yaml"
		for _, d := range c.metadataFiles {
			if d.Source == want && d.Version == version {
				def = d
				break
			}
		}
	}
	if def != nil {
		// The copy carries this type's name (it may be an alias) and the keys its code reads directly.
		cp := *def
		cp.Type = typ
		if pkg == "" {
			pkg = contribModule + "/" + path.Dir(def.Source)
		}
		cp.SourceKeys = c.undeclaredSourceKeys(&cp, pkg)
		return &cp, nil
	}
	if pkg == "" {
		return nil, fmt.Errorf("%w for %s %s: no metadata.yaml, and daprd's registration (%s) names no components-contrib package", errNoDefinition, typ, version, reg.Source)
	}
	fields, structName, err := c.source.deriveFields(pkg)
	if err != nil {
		return nil, fmt.Errorf("%w for %s %s: no metadata.yaml, and %v", errNoDefinition, typ, version, err)
	}
	def = &Definition{
		Type:       typ,
		Version:    version,
		Source:     strings.TrimPrefix(pkg, contribModule+"/") + " (Go source: GetComponentMetadata reflects " + structName + ")",
		Fields:     fields,
		FromSource: true,
	}
	// A cloud component without metadata.yaml authenticates like its documented siblings (the AWS ones
	// all go through common/authentication/aws, the Azure ones through common/authentication/azure), so it
	// gets the same built-in profiles: that is what tells whether it can run on workload identity.
	if set := cloudProfileSet(typ); set != "" {
		profiles, err := builtinProfiles(set, typ)
		if err != nil {
			return nil, err
		}
		def.Profiles = profiles
	}
	def.SourceKeys = c.undeclaredSourceKeys(def, pkg)
	return def, nil
}

// undeclaredSourceKeys returns the keys pkg reads from its properties that def does not declare.
func (c *Catalog) undeclaredSourceKeys(def *Definition, pkg string) []string {
	declared := def.allFields()
	var out []string
	for _, k := range c.source.sourceKeys(pkg) {
		if _, ok := declared[strings.ToLower(k)]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// cloudProfileSet returns the built-in profile set of a cloud component type ("state.aws.dynamodb" →
// "aws"), or "".
func cloudProfileSet(typ string) string {
	parts := strings.Split(typ, ".")
	if len(parts) < 3 {
		return ""
	}
	switch parts[1] {
	case "aws":
		return "aws"
	case "azure":
		return "azuread"
	case "gcp":
		return "gcp"
	}
	return ""
}
