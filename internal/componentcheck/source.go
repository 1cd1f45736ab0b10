package componentcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// sourceReader reads component definitions out of components-contrib's Go source, for the components that
// ship no metadata.yaml. It mirrors components-contrib's metadata.GetMetadataInfoFromStructType, which is
// what daprd's metadata API reports for such components, and accepts the names the component's decoder
// matches as well (mapstructure and json tags, aliases), since a key the code reads is not a typo.
type sourceReader struct {
	contribDir string
	pkgs       map[string]*goPackage
}

type goPackage struct {
	importPath string
	files      []*goFile
	types      map[string]typeDecl
	consts     map[string]string // string constants, to resolve Properties[someConst]
}

type goFile struct {
	ast     *ast.File
	imports map[string]string // identifier → import path
}

type typeDecl struct {
	expr ast.Expr
	file *goFile
}

func (r *sourceReader) load(importPath string) (*goPackage, error) {
	if p, ok := r.pkgs[importPath]; ok {
		return p, nil
	}
	if !strings.HasPrefix(importPath, contribModule+"/") {
		return nil, fmt.Errorf("%s is outside components-contrib", importPath)
	}
	dir := filepath.Join(r.contribDir, filepath.FromSlash(strings.TrimPrefix(importPath, contribModule+"/")))
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	pkg := &goPackage{importPath: importPath, types: map[string]typeDecl{}, consts: map[string]string{}}
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		gf := &goFile{ast: f, imports: map[string]string{}}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			name := path.Base(ip)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			gf.imports[name] = ip
		}
		pkg.files = append(pkg.files, gf)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					pkg.types[s.Name.Name] = typeDecl{expr: s.Type, file: gf}
				case *ast.ValueSpec:
					for i, name := range s.Names {
						if gd.Tok == token.CONST && i < len(s.Values) {
							if v, ok := stringLit(s.Values[i]); ok {
								pkg.consts[name.Name] = v
							}
						}
					}
				}
			}
		}
	}
	if len(pkg.files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	r.pkgs[importPath] = pkg
	return pkg, nil
}

// deriveFields returns the metadata keys of the struct a package's GetComponentMetadata method reflects on.
func (r *sourceReader) deriveFields(importPath string) ([]Field, string, error) {
	pkg, err := r.load(importPath)
	if err != nil {
		return nil, "", err
	}
	for _, f := range pkg.files {
		for _, decl := range f.ast.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "GetComponentMetadata" || fn.Body == nil {
				continue
			}
			typ := reflectedType(fn.Body)
			if typ == nil {
				return nil, "", fmt.Errorf("%s: GetComponentMetadata reflects on no struct literal the checker understands", importPath)
			}
			var out []Field
			if err := r.structFields(pkg, f, typ, &out, 0); err != nil {
				return nil, "", fmt.Errorf("%s: %w", importPath, err)
			}
			return out, exprString(typ), nil
		}
	}
	return nil, "", fmt.Errorf("%s has no GetComponentMetadata method", importPath)
}

// reflectedType finds X in `v := X{}` … reflect.TypeOf(v) (or reflect.TypeOf(X{}) / (&X{})).
func reflectedType(body *ast.BlockStmt) ast.Expr {
	locals := map[string]ast.Expr{}
	var found ast.Expr
	ast.Inspect(body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range s.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && i < len(s.Rhs) {
					locals[id.Name] = s.Rhs[i]
				}
			}
		case *ast.ValueSpec:
			for _, id := range s.Names {
				if s.Type != nil {
					locals[id.Name] = &ast.CompositeLit{Type: s.Type}
				}
			}
		case *ast.CallExpr:
			sel, ok := s.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "TypeOf" || len(s.Args) != 1 || found != nil {
				return true
			}
			arg := s.Args[0]
			if id, ok := arg.(*ast.Ident); ok {
				arg = locals[id.Name]
			}
			if u, ok := arg.(*ast.UnaryExpr); ok {
				arg = u.X
			}
			if lit, ok := arg.(*ast.CompositeLit); ok {
				found = lit.Type
			}
		}
		return true
	})
	return found
}

// structFields appends the keys of the struct type expr (seen from file f of pkg) to out.
func (r *sourceReader) structFields(pkg *goPackage, f *goFile, expr ast.Expr, out *[]Field, depth int) error {
	if depth > 8 {
		return fmt.Errorf("struct nesting too deep at %s", exprString(expr))
	}
	switch t := expr.(type) {
	case *ast.StarExpr:
		return r.structFields(pkg, f, t.X, out, depth+1)
	case *ast.Ident:
		decl, ok := pkg.types[t.Name]
		if !ok {
			return fmt.Errorf("type %s not found in %s", t.Name, pkg.importPath)
		}
		return r.structFields(pkg, decl.file, decl.expr, out, depth+1)
	case *ast.SelectorExpr:
		id, ok := t.X.(*ast.Ident)
		if !ok {
			return fmt.Errorf("unsupported type %s", exprString(t))
		}
		other, err := r.load(f.imports[id.Name])
		if err != nil {
			return fmt.Errorf("type %s: %w", exprString(t), err)
		}
		decl, ok := other.types[t.Sel.Name]
		if !ok {
			return fmt.Errorf("type %s not found", exprString(t))
		}
		return r.structFields(other, decl.file, decl.expr, out, depth+1)
	case *ast.StructType:
		for _, field := range t.Fields.List {
			var tag reflect.StructTag
			if field.Tag != nil {
				s, _ := strconv.Unquote(field.Tag.Value)
				tag = reflect.StructTag(s)
			}
			ms := strings.Split(tag.Get("mapstructure"), ",")
			if ms[0] == "-" {
				continue // GetMetadataInfoFromStructType skips these; the decoder never sets them
			}
			if len(field.Names) == 0 { // embedded: its fields are promoted (squash, and json's embedding)
				if err := r.structFields(pkg, f, field.Type, out, depth+1); err != nil {
					return err
				}
				continue
			}
			for _, name := range field.Names {
				if !name.IsExported() {
					continue
				}
				for _, key := range fieldKeys(name.Name, tag) {
					*out = append(*out, Field{Name: key})
				}
			}
		}
		return nil
	default:
		return fmt.Errorf("unsupported type %s", exprString(expr))
	}
}

// fieldKeys are the metadata names a struct field is decoded from: its mapstructure name (the field name
// when the tag has none), its json name (some components decode with encoding/json) and its aliases.
func fieldKeys(fieldName string, tag reflect.StructTag) []string {
	keys := []string{fieldName}
	if ms := strings.Split(tag.Get("mapstructure"), ",")[0]; ms != "" {
		keys = append(keys, ms)
	}
	if js := strings.Split(tag.Get("json"), ",")[0]; js != "" && js != "-" {
		keys = append(keys, js)
	}
	for _, aliasTag := range []string{"mdaliases", "mapstructurealiases"} {
		for _, a := range strings.Split(tag.Get(aliasTag), ",") {
			if a = strings.TrimSpace(a); a != "" {
				keys = append(keys, a)
			}
		}
	}
	return keys
}

// sourceKeys returns the property names a package reads directly: meta.Properties["name"] (or a string
// constant) and GetMetadataProperty(props, "name", "alias", ...).
func (r *sourceReader) sourceKeys(importPath string) []string {
	pkg, err := r.load(importPath)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var keys []string
	add := func(e ast.Expr) {
		k, ok := stringLit(e)
		if !ok {
			if id, isIdent := e.(*ast.Ident); isIdent {
				k, ok = pkg.consts[id.Name]
			}
		}
		if ok && k != "" && !seen[strings.ToLower(k)] {
			seen[strings.ToLower(k)] = true
			keys = append(keys, k)
		}
	}
	for _, f := range pkg.files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch e := n.(type) {
			case *ast.IndexExpr:
				if sel, ok := e.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Properties" {
					add(e.Index)
				}
			case *ast.CallExpr:
				var name string
				switch fun := e.Fun.(type) {
				case *ast.SelectorExpr:
					name = fun.Sel.Name
				case *ast.Ident:
					name = fun.Name
				}
				if strings.HasPrefix(name, "GetMetadataProperty") && len(e.Args) > 1 {
					for _, a := range e.Args[1:] {
						add(a)
					}
				}
			}
			return true
		})
	}
	return keys
}

func exprString(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return exprString(t.X) + "." + t.Sel.Name
	case *ast.StarExpr:
		return "*" + exprString(t.X)
	case *ast.StructType:
		return "struct{…}"
	default:
		return fmt.Sprintf("%T", e)
	}
}
