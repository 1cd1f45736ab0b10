package k8scheck

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenderRejectsBrokenCopies adds a broken overlay on top of a copy of k8s/ on disk, the way a change to
// the manifests would, and expects rendering and strict decoding to fail, naming the object and the problem.
func TestRenderRejectsBrokenCopies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// files are written into k8s/overlays/broken/ of the copy; kustomization.yaml builds on a real overlay.
		files map[string]string
		want  []string
	}{
		{
			name: "misspelt field in a patch",
			files: map[string]string{
				"kustomization.yaml": "resources: [../local]\npatches: [{path: typo.yaml}]\n",
				"typo.yaml": `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments
spec:
  template:
    spec:
      containers:
      - name: app
        livenesProbe:
          httpGet: {path: /healthz, port: http}
`,
			},
			want: []string{"Deployment orderflow/payments", `unknown field "spec.template.spec.containers[0].livenesProbe"`},
		},
		{
			name: "misspelt field in a KEDA object",
			files: map[string]string{
				"kustomization.yaml": "resources: [../gcp]\npatches: [{path: typo.yaml}]\n",
				"typo.yaml":          "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: shipping}\nspec: {cooldownPeriods: 60}\n",
			},
			want: []string{"ScaledObject orderflow/shipping", `unknown field "spec.cooldownPeriods"`},
		},
		{
			// kustomize's load restrictor, as in `kubectl apply -k`: the reason tools/k8sgen copies components/.
			name: "a file outside the kustomization's root",
			files: map[string]string{
				"kustomization.yaml": "resources: [../aws, ../../base/networkpolicies.yaml]\n",
			},
			want: []string{"is not in or below"},
		},
		{
			name: "an unknown kind",
			files: map[string]string{
				"kustomization.yaml": "namespace: orderflow\nresources: [../azure, extra.yaml]\n",
				"extra.yaml":         "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: extra}\n",
			},
			want: []string{"PersistentVolumeClaim orderflow/extra", "unknown kind v1 PersistentVolumeClaim"},
		},
		{
			name: "a Secret in the manifests",
			files: map[string]string{
				"kustomization.yaml": "namespace: orderflow\nresources: [../local, secret.yaml]\n",
				"secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata: {name: redis-password}\nstringData: {redis-password: hunter2}\n",
			},
			want: []string{"Secret orderflow/redis-password", "Secrets must not be part of the manifests"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			copyTree(t, filepath.Join(repoRoot, "k8s"), filepath.Join(root, "k8s"))
			for name, content := range tt.files {
				writeFile(t, filepath.Join(OverlayDir(root, "broken"), name), content)
			}
			_, err := RenderAndDecode(OverlayDir(root, "broken"))
			require.Error(t, err)
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}
