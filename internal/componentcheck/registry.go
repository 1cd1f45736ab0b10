package componentcheck

import (
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	loaderPrefix   = daprModule + "/pkg/components/"
	registryDir    = "cmd/daprd/components"
	initialVersion = "v1"
)

// Registration is one component type compiled into daprd.
type Registration struct {
	Type string // spec.type as daprd knows it, e.g. "pubsub.aws.snssqs" (lower case, as registered)
	// Versioned components were registered with explicit versions (RegisterComponentWithVersions); the
	// others answer to the initial versions only (daprd: components.IsInitialVersion, "v0" and "v1").
	Versioned bool
	Versions  []string
	// Packages maps a version to the components-contrib package implementing it ("" when the constructor
	// lives outside components-contrib).
	Packages map[string]string
	// Stable is true when `-tags stablecomponents` builds include it; the official daprd release is built
	// with allcomponents, which includes every registration.
	Stable        bool
	Input, Output bool   // bindings: registered as input and/or output binding
	Source        string // the registration file, relative to the dapr module

	aliases []string // further names registered with the same constructor, while scanning
}

// AcceptsVersion reports whether daprd resolves spec.version v to this registration.
func (r *Registration) AcceptsVersion(v string) bool {
	v = strings.ToLower(v)
	if !r.Versioned {
		return v == "v0" || v == initialVersion
	}
	for _, have := range r.Versions {
		if have == v {
			return true
		}
	}
	return false
}

// Package returns the components-contrib package implementing version v.
func (r *Registration) Package(v string) string {
	if !r.Versioned {
		return r.Packages[initialVersion]
	}
	return r.Packages[strings.ToLower(v)]
}

// scanRegistrations reads daprd's component registrations: every Register* call on a loader's
// DefaultRegistry in dapr's cmd/daprd/components, in the files an allcomponents or stablecomponents build
// compiles.
func scanRegistrations(daprDir, contribDir string) (map[string]*Registration, error) {
	dir := filepath.Join(daprDir, registryDir)
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	regs := map[string]*Registration{}
	names := packageNames{contribDir: contribDir, cache: map[string]string{}}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		if err := scanRegistrationFile(file, daprDir, &names, regs); err != nil {
			return nil, err
		}
	}
	if len(regs) == 0 {
		return nil, fmt.Errorf("no component registrations found in %s", dir)
	}
	for _, r := range regs {
		sort.Strings(r.Versions)
	}
	return regs, nil
}

func scanRegistrationFile(file, daprDir string, names *packageNames, regs map[string]*Registration) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	inAll, inStable, err := buildsWith(src)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if !inAll && !inStable {
		return nil // e.g. zz_notag.go, or an opt-in tag such as wfbackendsqlite
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	imports := map[string]string{} // identifier in this file → import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		ident := names.of(p)
		if imp.Name != nil {
			ident = imp.Name.Name
		}
		imports[ident] = p
	}
	rel, _ := filepath.Rel(daprDir, file)
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		reg, ok := registrationCall(call, imports)
		if !ok {
			return true
		}
		reg.Stable = inStable
		reg.Source = filepath.ToSlash(rel)
		merge(regs, reg)
		return true
	})
	return nil
}

// registrationCall recognises <loader>.DefaultRegistry.Register*(...) and returns what it registers.
func registrationCall(call *ast.CallExpr, imports map[string]string) (*Registration, bool) {
	method, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !strings.HasPrefix(method.Sel.Name, "Register") || len(call.Args) < 2 {
		return nil, false
	}
	registry, ok := method.X.(*ast.SelectorExpr)
	if !ok || registry.Sel.Name != "DefaultRegistry" {
		return nil, false
	}
	loader, ok := registry.X.(*ast.Ident)
	if !ok || !strings.HasPrefix(imports[loader.Name], loaderPrefix) {
		return nil, false
	}
	// The loader package names the kind: pkg/components/bindings → "bindings", middleware/http →
	// "middleware.http", matching the prefix of spec.type.
	kind := strings.ReplaceAll(strings.TrimPrefix(imports[loader.Name], loaderPrefix), "/", ".")

	if method.Sel.Name == "RegisterComponentWithVersions" {
		name, ok := stringLit(call.Args[0])
		if !ok {
			return nil, false
		}
		reg := &Registration{Type: kind + "." + strings.ToLower(name), Versioned: true, Packages: map[string]string{}}
		// components.Versioning{Preferred: {Version, Constructor}, Others: [...], Deprecated: [...]}:
		// every VersionConstructor literal registers one version.
		ast.Inspect(call.Args[1], func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			var version, pkg string
			for _, elt := range lit.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				switch key, _ := kv.Key.(*ast.Ident); {
				case key == nil:
				case key.Name == "Version":
					version, _ = stringLit(kv.Value)
				case key.Name == "Constructor":
					pkg = contribPackage(kv.Value, imports)
				}
			}
			if version != "" {
				version = strings.ToLower(version)
				reg.Versions = append(reg.Versions, version)
				reg.Packages[version] = pkg
				return false
			}
			return true
		})
		return reg, len(reg.Versions) > 0
	}

	pkg := contribPackage(call.Args[0], imports)
	var regs []string
	for _, arg := range call.Args[1:] {
		if name, ok := stringLit(arg); ok {
			regs = append(regs, kind+"."+strings.ToLower(name))
		}
	}
	if len(regs) == 0 {
		return nil, false
	}
	// Several names for one constructor (aliases such as "azure.servicebus" for "azure.servicebus.topics")
	// come back as one registration per name through aliases.
	reg := &Registration{
		Type:     regs[0],
		Versions: []string{initialVersion},
		Packages: map[string]string{initialVersion: pkg},
		Input:    method.Sel.Name == "RegisterInputBinding",
		Output:   method.Sel.Name == "RegisterOutputBinding",
	}
	if len(regs) > 1 {
		reg.aliases = regs[1:]
	}
	return reg, true
}

// merge adds reg (and its aliases) to regs; a binding registered as input and as output is one type.
func merge(regs map[string]*Registration, reg *Registration) {
	all := append([]string{reg.Type}, reg.aliases...)
	for _, typ := range all {
		r := *reg
		r.Type, r.aliases = typ, nil
		have, ok := regs[typ]
		if !ok {
			r.Packages = maps.Clone(reg.Packages)
			r.Versions = append([]string(nil), reg.Versions...)
			regs[typ] = &r
			continue
		}
		have.Input = have.Input || r.Input
		have.Output = have.Output || r.Output
		have.Stable = have.Stable || r.Stable
		have.Versioned = have.Versioned || r.Versioned
		for _, v := range r.Versions {
			if _, dup := have.Packages[v]; !dup {
				have.Versions = append(have.Versions, v)
			}
			have.Packages[v] = r.Packages[v]
		}
	}
}

// contribPackage returns the components-contrib package of a constructor expression: pkg.NewX, or a function
// literal whose body calls pkg.NewX(...). Packages that only provide the interface in a function literal's
// signature (bindings.OutputBinding) are skipped by preferring called functions.
func contribPackage(expr ast.Expr, imports map[string]string) string {
	fromSelector := func(sel *ast.SelectorExpr) string {
		if id, ok := sel.X.(*ast.Ident); ok && strings.HasPrefix(imports[id.Name], contribModule+"/") {
			return imports[id.Name]
		}
		return ""
	}
	if sel, ok := expr.(*ast.SelectorExpr); ok {
		return fromSelector(sel)
	}
	var found string
	ast.Inspect(expr, func(n ast.Node) bool {
		if found != "" {
			return false
		}
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				found = fromSelector(sel)
			}
		}
		return true
	})
	return found
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// buildsWith evaluates a file's //go:build line for an official (allcomponents) and a stablecomponents
// build. Other tags (GOOS, GOARCH) count as unset, which keeps e.g. "!(linux && arm) && allcomponents".
func buildsWith(src []byte) (inAll, inStable bool, err error) {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "package ") {
			break
		}
		if !constraint.IsGoBuild(line) {
			continue
		}
		expr, err := constraint.Parse(line)
		if err != nil {
			return false, false, err
		}
		return expr.Eval(func(tag string) bool { return tag == "allcomponents" }),
			expr.Eval(func(tag string) bool { return tag == "stablecomponents" }), nil
	}
	return true, true, nil
}

// packageNames resolves the identifier an unaliased import introduces: its package clause, which for
// components-contrib paths such as state/postgresql/v1 or pubsub/in-memory differs from the last element.
type packageNames struct {
	contribDir string
	cache      map[string]string
}

func (p *packageNames) of(importPath string) string {
	base := path.Base(importPath)
	if !strings.HasPrefix(importPath, contribModule+"/") {
		return base
	}
	if name, ok := p.cache[importPath]; ok {
		return name
	}
	name := base
	dir := filepath.Join(p.contribDir, filepath.FromSlash(strings.TrimPrefix(importPath, contribModule+"/")))
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		if f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.PackageClauseOnly); err == nil {
			name = f.Name.Name
			break
		}
	}
	p.cache[importPath] = name
	return name
}
