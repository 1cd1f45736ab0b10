package k8scheck

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // parts of the error
	}{
		{
			name: "unknown field, with its path",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders, namespace: orderflow}
spec:
  template:
    spec:
      containers:
      - name: app
        livenesProbe: {}
`,
			want: []string{"Deployment orderflow/orders", `unknown field "spec.template.spec.containers[0].livenesProbe"`},
		},
		{
			name: "field in the wrong case",
			yaml: `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: payments}
spec:
  scaleTargetRef: {name: payments}
  minreplicaCount: 0
  triggers: []
`,
			want: []string{"ScaledObject payments", `unknown field "spec.minreplicaCount"`},
		},
		{
			name: "unknown field in a Dapr component",
			yaml: `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec:
  type: pubsub.redis
  version: v1
  metdata: []
`,
			want: []string{"Component pubsub", `unknown field "spec.metdata"`},
		},
		{
			name: "key given twice",
			yaml: `
apiVersion: v1
kind: Service
metadata: {name: orders}
spec:
  selector: {app: orders}
  selector: {app: payments}
`,
			want: []string{`"selector" already set`},
		},
		{
			name: "unknown kind",
			yaml: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: settings}
`,
			want: []string{"PersistentVolumeClaim settings", "unknown kind v1 PersistentVolumeClaim", "k8scheck knows"},
		},
		{
			name: "known kind in an unknown version",
			yaml: `
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: orders}
`,
			want: []string{"unknown kind autoscaling/v1 HorizontalPodAutoscaler"},
		},
		{
			name: "a Secret",
			yaml: `
apiVersion: v1
kind: Secret
metadata: {name: redis-password}
stringData: {redis-password: hunter2}
`,
			want: []string{"Secret redis-password", "Secrets must not be part of the manifests", "kubectl create secret"},
		},
		{
			name: "no name",
			yaml: `
apiVersion: v1
kind: Service
metadata: {}
`,
			want: []string{"an object needs apiVersion, kind and metadata.name"},
		},
		{
			name: "every broken document is reported",
			yaml: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: one}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: two}
`,
			want: []string{"document 1: PersistentVolumeClaim one", "document 2: PersistentVolumeClaim two"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.yaml))
			require.Error(t, err)
			for _, want := range tt.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	objs, err := Decode([]byte(`
# a comment-only document, as a file header
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: orderflow
spec:
  template:
    spec:
      containers:
      - name: app
---
`))
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "orderflow", Name: "orders"}, objs[0].Ref)
	d, ok := objs[0].Value.(*appsv1.Deployment)
	require.True(t, ok, "decoded into %T", objs[0].Value)
	assert.Equal(t, "app", d.Spec.Template.Spec.Containers[0].Name)
}
