package k8scheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOverlays renders every overlay as `kubectl apply -k` would, decodes it strictly and runs every check.
// The object counts document what each overlay deploys (k8s/README.md lists the same); a change to them is
// a deliberate change to the deployment.
func TestOverlays(t *testing.T) {
	t.Parallel()
	// Shared by every overlay: the Namespace, the seven Dapr services (ServiceAccount, Service, Deployment,
	// PodDisruptionBudget) and the orders HPA, nine network policies, the Configuration, the Resiliency, 42
	// Subscriptions and 14 Components (the profile's twelve plus the reservation-expiry and order-sla cron
	// bindings), and the ConfigMaps orderflow-auth and orderflow-console.
	cloud := map[string]int{
		"Namespace": 1, "ServiceAccount": 7, "Service": 7, "Deployment": 7, "PodDisruptionBudget": 7,
		"HorizontalPodAutoscaler": 1, "NetworkPolicy": 10, "Configuration": 1, "Resiliency": 1, "Subscription": 42,
		"Component": 14, "ConfigMap": 2, "ScaledObject": 5, "TriggerAuthentication": 1,
	}
	tests := []struct {
		overlay string
		counts  map[string]int
	}{
		{
			// Plus Redis and the card simulator (ServiceAccount, Service, Deployment each), their ingress
			// policies and the sidecars' egress to them, and payments' right to read its API key Secret.
			overlay: "local",
			counts: map[string]int{
				"Namespace": 1, "ServiceAccount": 9, "Service": 9, "Deployment": 9, "PodDisruptionBudget": 7,
				"HorizontalPodAutoscaler": 1, "NetworkPolicy": 13, "Configuration": 1, "Resiliency": 1, "Subscription": 42,
				"Component": 14, "ConfigMap": 2, "ScaledObject": 5, "TriggerAuthentication": 1, "Role": 1, "RoleBinding": 1,
			},
		},
		{overlay: "aws", counts: cloud},
		{overlay: "azure", counts: cloud},
		{overlay: "gcp", counts: cloud},
	}
	for _, tt := range tests {
		t.Run(tt.overlay, func(t *testing.T) {
			t.Parallel()
			objs := freshObjects(t, tt.overlay)
			assert.Equal(t, tt.counts, CountKinds(objs))
			findings := Check(testProject(t), objs)
			assert.Empty(t, findings, "%v", findings.Err())
		})
	}
}
