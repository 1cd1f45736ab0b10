package k8scheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is the repository root, seen from this package's directory (where `go test` runs it).
const repoRoot = "../.."

// project loads the repository's project once for all tests.
var project = sync.OnceValues(func() (*Project, error) { return LoadProject(repoRoot) })

func testProject(t *testing.T) *Project {
	t.Helper()
	p, err := project()
	require.NoError(t, err)
	return p
}

// rendered renders each overlay once for all tests; tests decode their own copy of the YAML so they can
// mutate the objects freely.
var rendered = func() map[string]func() ([]byte, error) {
	m := map[string]func() ([]byte, error){}
	for _, o := range Overlays {
		m[o] = sync.OnceValues(func() ([]byte, error) { return Render(OverlayDir(repoRoot, o)) })
	}
	return m
}()

// freshObjects returns a newly decoded copy of an overlay's objects.
func freshObjects(t *testing.T, overlay string) []Object {
	t.Helper()
	render, ok := rendered[overlay]
	require.True(t, ok, "no overlay %q", overlay)
	out, err := render()
	require.NoError(t, err)
	objs, err := Decode(out)
	require.NoError(t, err)
	return objs
}

// get returns the object of type *T called name, failing the test when there is none.
func get[T any](t *testing.T, objs []Object, name string) *T {
	t.Helper()
	for _, o := range objectsOf[T](objs) {
		if o.Ref.Name == name {
			return o.V
		}
	}
	require.Failf(t, "object not found", "no %T called %q", new(T), name)
	return nil
}

// without returns objs minus the object of the given kind and name, failing the test when there is none.
func without(t *testing.T, objs []Object, kind, name string) []Object {
	t.Helper()
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		if o.Ref.Kind != kind || o.Ref.Name != name {
			out = append(out, o)
		}
	}
	require.Len(t, out, len(objs)-1, "no %s %q to remove", kind, name)
	return out
}

// copyTree copies the directory src to dst (created), for tests that break a copy of the manifests.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	require.NoError(t, err)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}
