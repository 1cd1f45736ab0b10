package k8scheck

import (
	"slices"
	"strings"
	"testing"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	configurationv1alpha1 "github.com/dapr/dapr/pkg/apis/configuration/v1alpha1"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckFindsBrokenManifests breaks one thing in a rendered overlay per case and expects Check to report
// exactly that, naming the object.
func TestCheckFindsBrokenManifests(t *testing.T) {
	t.Parallel()
	app := func(t *testing.T, objs []Object, name string) *appsv1.Deployment {
		t.Helper()
		return get[appsv1.Deployment](t, objs, name)
	}
	container := func(t *testing.T, objs []Object, name string) *corev1.Container {
		t.Helper()
		return &app(t, objs, name).Spec.Template.Spec.Containers[0]
	}
	trigger := func(t *testing.T, objs []Object, name string, i int) map[string]string {
		t.Helper()
		return get[kedav1alpha1.ScaledObject](t, objs, name).Spec.Triggers[i].Metadata
	}
	setMetadata := func(comp *componentsv1alpha1.Component, name, value string) {
		for i := range comp.Spec.Metadata {
			if comp.Spec.Metadata[i].Name == name {
				comp.Spec.Metadata[i].Value.Raw = []byte(`"` + value + `"`)
			}
		}
	}
	tests := []struct {
		name    string
		overlay string
		mutate  func(t *testing.T, objs []Object) []Object
		object  string // the Ref of the finding
		message string // a part of its message
	}{
		// --- dapr.yaml agreement ---
		{
			name: "app id differs from dapr.yaml", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "payments").Spec.Template.Annotations["dapr.io/app-id"] = "payment"
				return objs
			},
			object: "Deployment orderflow/payments", message: `pod annotation dapr.io/app-id is "payment", but dapr.yaml's app id is "payments"`,
		},
		// --- authentication settings ---
		{
			name: "an authenticated app reads no auth ConfigMap", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "inventory").EnvFrom = nil
				return objs
			},
			object: "Deployment orderflow/inventory", message: `container "app" gets no AUTH_ISSUER (docs/auth.md)`,
		},
		{
			name: "the auth ConfigMap lacks the audience", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				for _, o := range objs {
					if cm, ok := o.Value.(*corev1.ConfigMap); ok {
						delete(cm.Data, "AUTH_AUDIENCE")
					}
				}
				return objs
			},
			object: "Deployment orderflow/orders", message: `container "app" gets no AUTH_AUDIENCE`,
		},
		{
			name: "an empty issuer in the container's env", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				ctr := container(t, objs, "deadletters")
				ctr.Env = append(ctr.Env, corev1.EnvVar{Name: "AUTH_ISSUER"})
				return objs
			},
			object: "Deployment orderflow/deadletters", message: `container "app" gets no AUTH_ISSUER`,
		},
		{
			name: "app port annotation differs from dapr.yaml", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "shipping").Spec.Template.Annotations["dapr.io/app-port"] = "8080"
				return objs
			},
			object: "Deployment orderflow/shipping", message: `pod annotation dapr.io/app-port is "8080", but dapr.yaml's appPort for shipping is 8083`,
		},
		{
			name: "container port differs from dapr.yaml", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "orders").Ports[0].ContainerPort = 9000
				return objs
			},
			object: "Deployment orderflow/orders", message: `exposes ports [9000 9180], not dapr.yaml's appPort 8080 for orders`,
		},
		{
			name: "a dapr.yaml variable differs", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				envVar(*container(t, objs, "inventory"), "RESERVATION_TTL").Value = "1h"
				return objs
			},
			object: "Deployment orderflow/inventory", message: `sets RESERVATION_TTL="1h", want "15m"`,
		},
		{
			name: "app listens on loopback only", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				envVar(*container(t, objs, "notifications"), "APP_HOST").Value = "127.0.0.1"
				return objs
			},
			object: "Deployment orderflow/notifications", message: `sets APP_HOST="127.0.0.1", want "0.0.0.0"`,
		},
		{
			name: "Dapr app without a Deployment", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "Deployment", "shipping")
			},
			object: "Deployment orderflow/shipping", message: `missing: dapr.yaml runs the Dapr app "shipping"`,
		},
		{
			name: "simulator with a sidecar", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "cardsim").Spec.Template.Annotations = map[string]string{"dapr.io/enabled": "true"}
				return objs
			},
			object: "Deployment orderflow/cardsim", message: "must not have a Dapr sidecar",
		},
		// --- sidecar settings ---
		{
			name: "required sidecar annotation missing", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				delete(app(t, objs, "orders").Spec.Template.Annotations, "dapr.io/log-as-json")
				return objs
			},
			object: "Deployment orderflow/orders", message: "pod annotation dapr.io/log-as-json is missing",
		},
		{
			name: "app health check path wrong", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "payments").Spec.Template.Annotations["dapr.io/app-health-check-path"] = "/readyz"
				return objs
			},
			object: "Deployment orderflow/payments", message: `pod annotation dapr.io/app-health-check-path is "/readyz": it must be "/healthz"`,
		},
		{
			name: "sidecar memory limit not a quantity", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "shipping").Spec.Template.Annotations["dapr.io/sidecar-memory-limit"] = "lots"
				return objs
			},
			object: "Deployment orderflow/shipping", message: "dapr.io/sidecar-memory-limit is \"lots\": it must be a Kubernetes quantity",
		},
		{
			name: "sidecar probe left to the injector's defaults", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				delete(app(t, objs, "inventory").Spec.Template.Annotations, "dapr.io/sidecar-liveness-probe-delay-seconds")
				return objs
			},
			object: "Deployment orderflow/inventory", message: "pod annotation dapr.io/sidecar-liveness-probe-delay-seconds is missing",
		},
		{
			name: "sidecar readiness threshold not a positive count", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "orders").Spec.Template.Annotations["dapr.io/sidecar-readiness-probe-threshold"] = "0"
				return objs
			},
			object: "Deployment orderflow/orders", message: `pod annotation dapr.io/sidecar-readiness-probe-threshold is "0": it must be a positive whole number`,
		},
		{
			name: "app protocol other than the apps speak", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "payments").Spec.Template.Annotations["dapr.io/app-protocol"] = "grpc"
				return objs
			},
			object: "Deployment orderflow/payments", message: `pod annotation dapr.io/app-protocol is "grpc": it must be "http"`,
		},
		{
			name: "optional sidecar setting with an invalid value", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "shipping").Spec.Template.Annotations["dapr.io/log-level"] = "verbose"
				return objs
			},
			object: "Deployment orderflow/shipping", message: `pod annotation dapr.io/log-level is "verbose": it must be one of debug, info, warn, error`,
		},
		{
			name: "deprecated sidecar annotation", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "notifications").Spec.Template.Annotations["dapr.io/app-ssl"] = "true"
				return objs
			},
			object: "Deployment orderflow/notifications", message: "pod annotation dapr.io/app-ssl is not a sidecar setting of the platform",
		},
		{
			name: "misspelt sidecar annotation the injector would ignore", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "orders").Spec.Template.Annotations["dapr.io/sidecar-liveness-probe-delay"] = "30"
				return objs
			},
			object: "Deployment orderflow/orders", message: "pod annotation dapr.io/sidecar-liveness-probe-delay is not a sidecar setting of the platform",
		},
		{
			name: "app cannot reach its sidecar without the API token", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				envVar(*container(t, objs, "payments"), "DAPR_API_TOKEN").ValueFrom.SecretKeyRef.Name = "other"
				return objs
			},
			object: "Deployment orderflow/payments", message: `must read DAPR_API_TOKEN from the Secret "dapr-api-token", key "token"`,
		},
		{
			name: "sidecar shutdown longer than the grace period", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "inventory").Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
				return objs
			},
			object: "Deployment orderflow/inventory", message: "the sidecar may take 35s to shut down",
		},
		{
			name: "sidecar configuration does not exist", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "orders").Spec.Template.Annotations["dapr.io/config"] = "appconfig"
				return objs
			},
			object: "Deployment orderflow/orders", message: `names Configuration "appconfig", which the overlay does not define`,
		},
		// --- containers ---
		{
			name: "missing liveness probe", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "notifications").LivenessProbe = nil
				return objs
			},
			object: "Deployment orderflow/notifications", message: `container "app" has no livenessProbe`,
		},
		{
			name: "missing readiness probe on Redis", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "redis").ReadinessProbe = nil
				return objs
			},
			object: "Deployment orderflow/redis", message: `container "redis" has no readinessProbe`,
		},
		{
			name: "readiness probe on the liveness path", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "orders").ReadinessProbe.HTTPGet.Path = "/healthz"
				return objs
			},
			object: "Deployment orderflow/orders", message: `readinessProbe checks "/healthz", not /readyz`,
		},
		{
			name: "readiness probe on the public port", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "payments").ReadinessProbe.HTTPGet.Port = intstr.FromString("http")
				return objs
			},
			object: "Deployment orderflow/payments", message: `readinessProbe targets port http, not 9182`,
		},
		{
			name: "ops port only on loopback", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				ctr := container(t, objs, "shipping")
				ctr.Env = slices.DeleteFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == "OPS_HOST" })
				return objs
			},
			object: "Deployment orderflow/shipping", message: `lacks the variable OPS_HOST=0.0.0.0`,
		},
		{
			name: "no memory limit", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				delete(container(t, objs, "cardsim").Resources.Limits, corev1.ResourceMemory)
				return objs
			},
			object: "Deployment orderflow/cardsim", message: `container "app" has no memory limit`,
		},
		{
			name: "writable root filesystem", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "shipping").SecurityContext.ReadOnlyRootFilesystem = ptr.To(false)
				return objs
			},
			object: "Deployment orderflow/shipping", message: "securityContext.readOnlyRootFilesystem must be true",
		},
		{
			name: "privilege escalation allowed", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "redis").SecurityContext.AllowPrivilegeEscalation = nil
				return objs
			},
			object: "Deployment orderflow/redis", message: "securityContext.allowPrivilegeEscalation must be false",
		},
		{
			name: "capabilities kept", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "payments").SecurityContext.Capabilities.Drop = []corev1.Capability{"NET_RAW"}
				return objs
			},
			object: "Deployment orderflow/payments", message: "securityContext.capabilities.drop must include ALL",
		},
		{
			name: "no seccomp profile", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				d := app(t, objs, "orders")
				d.Spec.Template.Spec.SecurityContext.SeccompProfile = nil
				d.Spec.Template.Spec.Containers[0].SecurityContext.SeccompProfile = nil
				return objs
			},
			object: "Deployment orderflow/orders", message: "must be RuntimeDefault",
		},
		{
			name: "root allowed", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				d := app(t, objs, "cardsim")
				d.Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
				d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsNonRoot = nil
				return objs
			},
			object: "Deployment orderflow/cardsim", message: "securityContext.runAsNonRoot must be true",
		},
		{
			name: "image not pinned", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "redis").Image = "redis:latest"
				return objs
			},
			object: "Deployment orderflow/redis", message: `image "redis:latest" uses the tag latest`,
		},
		{
			name: "default service account", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "orders").Spec.Template.Spec.ServiceAccountName = ""
				return objs
			},
			object: "Deployment orderflow/orders", message: "runs under the namespace's default service account",
		},
		// --- Services, budgets, spreading ---
		{
			name: "Service selects nothing", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[corev1.Service](t, objs, "payments").Spec.Selector = map[string]string{"app.kubernetes.io/name": "payment"}
				return objs
			},
			object: "Service orderflow/payments", message: "missing: no Service selects the pods of Deployment orderflow/payments",
		},
		{
			name: "no disruption budget", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "PodDisruptionBudget", "notifications")
			},
			object: "PodDisruptionBudget orderflow/notifications", message: "missing: no PodDisruptionBudget selects the pods",
		},
		{
			name: "no topology spread", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "inventory").Spec.Template.Spec.TopologySpreadConstraints = nil
				return objs
			},
			object: "Deployment orderflow/inventory", message: "has no topologySpreadConstraints",
		},
		// --- components ---
		{
			name: "missing component", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "Component", "email")
			},
			object: "Component orderflow/email", message: `missing: notifications uses the component "email"`,
		},
		{
			name: "missing cron binding", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "Component", "reservation-expiry")
			},
			object: "Component orderflow/reservation-expiry", message: `missing: inventory uses the component "reservation-expiry"`,
		},
		{
			name: "component scoped away from its user", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[componentsv1alpha1.Component](t, objs, "card-provider").Scopes = []string{"orders"}
				return objs
			},
			object: "Component orderflow/card-provider", message: "is scoped to [orders], which leaves out payments that uses it",
		},
		{
			name: "component on the developer's machine", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				setMetadata(get[componentsv1alpha1.Component](t, objs, "pubsub"), "redisHost", "127.0.0.1:6379")
				return objs
			},
			object: "Component orderflow/pubsub", message: `metadata redisHost is "127.0.0.1:6379": in a pod that address is the pod itself`,
		},
		{
			name: "file-based secret store in a cluster", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[componentsv1alpha1.Component](t, objs, "secretstore").Spec.Type = "secretstores.local.file"
				return objs
			},
			object: "Component orderflow/secretstore", message: "type secretstores.local.file reads a JSON file of the repository",
		},
		{
			name: "unknown secret store", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[componentsv1alpha1.Component](t, objs, "email").Auth.SecretStore = "vault"
				return objs
			},
			object: "Component orderflow/email", message: `auth.secretStore "vault" is neither a secret store component`,
		},
		// --- Dapr resources ---
		{
			name: "subscription missing", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "Subscription", "payments-on-order-cancelled")
			},
			object: "Subscription orderflow/payments-on-order-cancelled", message: "missing: components/shared/subscriptions.yaml subscribes payments to order.cancelled",
		},
		{
			name: "mTLS switched off", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[configurationv1alpha1.Configuration](t, objs, "orderflow").Spec.MTLSSpec.Enabled = ptr.To(false)
				return objs
			},
			object: "Configuration orderflow/orderflow", message: "mtls.enabled must be true",
		},
		{
			name: "tracing switched off", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[configurationv1alpha1.Configuration](t, objs, "orderflow").Spec.TracingSpec.SamplingRate = "0"
				return objs
			},
			object: "Configuration orderflow/orderflow", message: "tracing.samplingRate must be above 0",
		},
		// --- autoscaling ---
		{
			name: "KEDA trigger on a topic the app does not consume", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "payments", 0)["stream"] = "order.placed"
				return objs
			},
			object: "ScaledObject orderflow/payments", message: `stream: watches topic "order.placed", which payments does not subscribe to`,
		},
		{
			name: "KEDA trigger on another app's consumer group", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "notifications", 0)["consumerGroup"] = "inventory"
				return objs
			},
			object: "ScaledObject orderflow/notifications", message: `consumerGroup is "inventory", but notifications reads stream "order.placed" in the consumer group "notifications"`,
		},
		{
			name: "KEDA on pending entries cannot wake a scaled-to-zero app", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				meta := trigger(t, objs, "shipping", 1)
				delete(meta, "lagCount")
				meta["pendingEntriesCount"] = "10"
				return objs
			},
			object: "ScaledObject orderflow/shipping", message: "no lagCount: pending entries count only delivered messages",
		},
		{
			name: "KEDA address without the namespace", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "inventory", 2)["address"] = "redis:6379"
				return objs
			},
			object: "ScaledObject orderflow/inventory", message: `address is "redis:6379", but the pub/sub's Redis (redisHost "redis:6379") is "redis.orderflow.svc.cluster.local:6379"`,
		},
		{
			name: "KEDA metadata key misspelt", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				meta := trigger(t, objs, "payments", 1)
				meta["consumergroup"] = meta["consumerGroup"]
				return objs
			},
			object: "ScaledObject orderflow/payments", message: `unknown metadata key "consumergroup"`,
		},
		{
			name: "a consumed topic without a trigger", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				so := get[kedav1alpha1.ScaledObject](t, objs, "notifications")
				so.Spec.Triggers = so.Spec.Triggers[:len(so.Spec.Triggers)-1]
				return objs
			},
			object: "ScaledObject orderflow/notifications", message: `no trigger watches topic "payment.refunded", which notifications consumes`,
		},
		{
			name: "Service Bus subscription of another app", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "payments", 0)["subscriptionName"] = "orders"
				return objs
			},
			object: "ScaledObject orderflow/payments", message: `subscriptionName is "orders", but payments's subscription on "stock.reserved" is "payments"`,
		},
		{
			name: "Service Bus namespace differs from the pub/sub's", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "shipping", 0)["namespace"] = "elsewhere"
				return objs
			},
			object: "ScaledObject orderflow/shipping", message: `namespace is "elsewhere", but the pub/sub's namespaceName is "orderflow-CHANGE-ME.servicebus.windows.net"`,
		},
		{
			name: "SQS queue of another app", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "shipping", 0)["queueURL"] = "https://sqs.us-east-1.amazonaws.com/000000000000/orders"
				return objs
			},
			object: "ScaledObject orderflow/shipping", message: `queueURL names the queue "orders", but shipping's sidecar reads all its topics from the queue "shipping"`,
		},
		{
			name: "SQS region differs from the pub/sub's", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "payments", 0)["awsRegion"] = "eu-west-1"
				return objs
			},
			object: "ScaledObject orderflow/payments", message: `awsRegion is "eu-west-1", but the pub/sub's queues are in "us-east-1"`,
		},
		{
			name: "Pub/Sub subscription for a topic the app does not consume", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "payments", 1)["subscriptionName"] = "projects/orderflow-CHANGE-ME/subscriptions/payments-order.placed"
				return objs
			},
			object: "ScaledObject orderflow/payments", message: `subscriptionName: watches topic "order.placed", which payments does not subscribe to`,
		},
		{
			name: "Pub/Sub subscription in another project", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				trigger(t, objs, "inventory", 0)["subscriptionName"] = "projects/other/subscriptions/inventory-order.placed"
				return objs
			},
			object: "ScaledObject orderflow/inventory", message: "is not in the pub/sub's project",
		},
		{
			name: "trigger type does not match the broker", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[kedav1alpha1.ScaledObject](t, objs, "shipping").Spec.Triggers[0].Type = "redis-streams"
				return objs
			},
			object: "ScaledObject orderflow/shipping", message: "the pub/sub is pubsub.gcp.pubsub, whose backlog KEDA reads with a gcp-pubsub trigger",
		},
		{
			name: "trigger authentication missing", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "TriggerAuthentication", "redis")
			},
			object: "ScaledObject orderflow/payments", message: `trigger 1 "stock-reserved" (redis-streams): authenticationRef names TriggerAuthentication "redis", which the overlay does not define`,
		},
		{
			name: "cron host scaled to zero", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[kedav1alpha1.ScaledObject](t, objs, "inventory").Spec.MinReplicaCount = ptr.To[int32](0)
				return objs
			},
			object: "ScaledObject orderflow/inventory", message: "inventory hosts the input binding reservation-expiry (bindings.cron)",
		},
		{
			name: "subscriber without a ScaledObject", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "ScaledObject", "notifications")
			},
			object: "ScaledObject orderflow/notifications", message: "missing: notifications subscribes to",
		},
		{
			name: "the console scaled to two replicas", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "console").Spec.Replicas = ptr.To[int32](2)
				return objs
			},
			object: "Deployment orderflow/console", message: "must set replicas: 1: its live pages are fed in-process",
		},
		{
			name: "the console rolled out with a rolling update", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "console").Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType}
				return objs
			},
			object: "Deployment orderflow/console", message: "must use the Recreate strategy",
		},
		{
			name: "the console without the identity provider's settings", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				container(t, objs, "console").EnvFrom = container(t, objs, "console").EnvFrom[1:]
				return objs
			},
			object: "Deployment orderflow/console", message: `container "app" gets no AUTH_ISSUER`,
		},
		{
			name: "public API below two replicas", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[autoscalingv2.HorizontalPodAutoscaler](t, objs, "orders").Spec.MinReplicas = ptr.To[int32](1)
				return objs
			},
			object: "HorizontalPodAutoscaler orderflow/orders", message: "minReplicas is 1: the public API orders keeps at least 2 replicas",
		},
		{
			name: "replicas fixed on an autoscaled Deployment", overlay: "gcp",
			mutate: func(t *testing.T, objs []Object) []Object {
				app(t, objs, "payments").Spec.Replicas = ptr.To[int32](3)
				return objs
			},
			object: "Deployment orderflow/payments", message: "sets spec.replicas although ScaledObject orderflow/payments owns them",
		},
		// --- network and access ---
		{
			name: "default deny missing", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "NetworkPolicy", "default-deny")
			},
			object: "NetworkPolicy orderflow/default-deny", message: "missing: a policy selecting every pod",
		},
		{
			name: "a subscriber open to the world", overlay: "aws",
			mutate: func(t *testing.T, objs []Object) []Object {
				np := get[networkingv1.NetworkPolicy](t, objs, "allow-orders-api-ingress")
				np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] = "payments"
				return objs
			},
			object: "NetworkPolicy orderflow/allow-orders-api-ingress", message: "ingress rule 1 admits connections from anywhere to the pods map[app.kubernetes.io/name:payments]",
		},
		{
			name: "sidecars cut off from the control plane", overlay: "azure",
			mutate: func(t *testing.T, objs []Object) []Object {
				return without(t, objs, "NetworkPolicy", "allow-dapr-control-plane-egress")
			},
			object: "NetworkPolicy orderflow/allow-dapr-control-plane-egress", message: "reach the Dapr control plane in dapr-system",
		},
		{
			name: "role reads every Secret", overlay: "local",
			mutate: func(t *testing.T, objs []Object) []Object {
				get[rbacv1.Role](t, objs, "payments-secret-reader").Rules[0].ResourceNames = nil
				return objs
			},
			object: "Role orderflow/payments-secret-reader", message: "grants access to every Secret of the namespace",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			objs := tt.mutate(t, freshObjects(t, tt.overlay))
			findings := Check(testProject(t), objs)
			require.NotEmpty(t, findings, "the broken %s overlay passed", tt.overlay)
			var matching []string
			for _, f := range findings {
				if f.Object.String() == tt.object && strings.Contains(f.Message, tt.message) {
					matching = append(matching, f.String())
				}
			}
			assert.Len(t, matching, 1, "want one finding %q on %s; got:\n%v", tt.message, tt.object, findings.Err())
		})
	}
}

func TestFindingsErr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		findings Findings
		want     string
	}{
		{name: "none", findings: nil, want: ""},
		{
			name: "one line per finding",
			findings: Findings{
				{Object: Ref{Kind: "Deployment", Namespace: "orderflow", Name: "orders"}, Message: "first"},
				{Object: Ref{Kind: "Namespace", Name: "orderflow"}, Message: "second"},
			},
			want: "Deployment orderflow/orders: first\nNamespace orderflow: second",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.findings.Err()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.want)
		})
	}
}
