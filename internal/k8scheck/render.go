package k8scheck

import (
	"fmt"
	"path/filepath"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Overlays are the environments under k8s/overlays, each deployable with `kubectl apply -k`.
var Overlays = []string{"local", "aws", "azure", "gcp"}

// OverlayDir returns the directory of an overlay under the repository root.
func OverlayDir(root, overlay string) string {
	return filepath.Join(root, "k8s", "overlays", overlay)
}

// renderMu serialises renders: kustomize initialises its global OpenAPI schema lazily and without a lock
// (kyaml/openapi), so two builds in parallel tests race on it.
var renderMu sync.Mutex

// Render builds the kustomization in dir with the kustomize Go API and returns its objects as a YAML stream.
// The options are kustomize's defaults, which are kubectl's: in particular the load restrictor, so a file
// outside the kustomization's root fails here just as it would in `kubectl apply -k`.
func Render(dir string) ([]byte, error) {
	renderMu.Lock()
	defer renderMu.Unlock()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return out, nil
}

// RenderAndDecode renders dir and decodes the result strictly.
func RenderAndDecode(dir string) ([]Object, error) {
	out, err := Render(dir)
	if err != nil {
		return nil, err
	}
	objs, err := Decode(out)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return objs, nil
}

// CountKinds returns how many objects of each kind objs holds.
func CountKinds(objs []Object) map[string]int {
	counts := map[string]int{}
	for _, o := range objs {
		counts[o.Ref.Kind]++
	}
	return counts
}
