package k8scheck

import (
	"errors"
	"fmt"
	"sort"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	configurationv1alpha1 "github.com/dapr/dapr/pkg/apis/configuration/v1alpha1"
	resiliencyv1alpha1 "github.com/dapr/dapr/pkg/apis/resiliency/v1alpha1"
	subscriptionsv2alpha1 "github.com/dapr/dapr/pkg/apis/subscriptions/v2alpha1"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The platform's rules that no file states and the checks need.
const (
	// publicAPI is the app that takes traffic from outside the cluster: the only ingress, scaled by an HPA on
	// CPU and never below minPublicAPIReplicas replicas, so a rollout or a node drain never takes the API down.
	publicAPI            = "orders"
	minPublicAPIReplicas = 2
	// appContainer is the name of the app's container in every service Deployment (daprd is injected beside it).
	appContainer = "app"
	// kubernetesSecretStore is daprd's built-in secret store; secretKeyRefs naming it are resolved by the Dapr
	// operator from the namespace's Secrets.
	kubernetesSecretStore = "kubernetes"
	// sidecarLabel is the label the dapr-sidecar-injector puts on every pod it injects, which the network
	// policies select sidecar traffic by.
	sidecarLabel = "dapr.io/sidecar-injected"
	// daprNamespace is the Dapr control plane's namespace (`dapr init -k`).
	daprNamespace = "dapr-system"
)

// simulators are dapr.yaml apps that are not Dapr services: they have no sidecar and need not be deployed
// everywhere.
var simulators = map[string]string{
	"cardsim":   "the simulated card provider uses no Dapr API; only the local overlay deploys it",
	"devissuer": "the development issuer mints tokens for anyone; no overlay deploys it",
}

// requiredComponents are the Dapr components the apps' code uses, by name, with the apps that use each (the
// defaults of PUBSUB_NAME in internal/platform/service, and of STATESTORE_NAME, EMAIL_BINDING,
// LABELS_BINDING, CARD_PROVIDER_BINDING, SECRET_STORE, EXPIRY_BINDING and SLA_BINDING in apps/*/main.go). Every overlay
// must define each exactly once, and a component's scopes must include the apps that use it.
var requiredComponents = map[string][]string{
	"pubsub":              {"orders", "inventory", "payments", "shipping", "notifications", "deadletters", "console"},
	"orders-store":        {"orders"},
	"inventory-store":     {"inventory"},
	"payments-store":      {"payments"},
	"shipping-store":      {"shipping"},
	"notifications-store": {"notifications"},
	"deadletters-store":   {"deadletters"},
	"console-store":       {"console"},
	"email":               {"notifications"},
	"shipping-labels":     {"shipping"},
	"card-provider":       {"payments"},
	"secretstore":         {"payments"},
	"reservation-expiry":  {"inventory"},
	"order-sla":           {"orders"},
}

// Finding is one problem in a rendered overlay, about one object.
type Finding struct {
	Object  Ref
	Message string
}

func (f Finding) String() string { return f.Object.String() + ": " + f.Message }

// Findings are the result of Check, sorted by object.
type Findings []Finding

// Err joins the findings into one error, one finding per line; nil when there are none.
func (fs Findings) Err() error {
	if len(fs) == 0 {
		return nil
	}
	errs := make([]error, len(fs))
	for i, f := range fs {
		errs[i] = errors.New(f.String())
	}
	return errors.Join(errs...)
}

// Check runs every consistency check of the package on the objects of one rendered overlay.
func Check(p *Project, objs []Object) Findings {
	c := &checker{
		p:               p,
		namespaces:      objectsOf[corev1.Namespace](objs),
		serviceAccounts: objectsOf[corev1.ServiceAccount](objs),
		configMaps:      objectsOf[corev1.ConfigMap](objs),
		services:        objectsOf[corev1.Service](objs),
		deployments:     objectsOf[appsv1.Deployment](objs),
		pdbs:            objectsOf[policyv1.PodDisruptionBudget](objs),
		netpols:         objectsOf[networkingv1.NetworkPolicy](objs),
		hpas:            objectsOf[autoscalingv2.HorizontalPodAutoscaler](objs),
		roles:           objectsOf[rbacv1.Role](objs),
		roleBindings:    objectsOf[rbacv1.RoleBinding](objs),
		components:      objectsOf[componentsv1alpha1.Component](objs),
		configurations:  objectsOf[configurationv1alpha1.Configuration](objs),
		resiliencies:    objectsOf[resiliencyv1alpha1.Resiliency](objs),
		subscriptions:   objectsOf[subscriptionsv2alpha1.Subscription](objs),
		scaledObjects:   objectsOf[kedav1alpha1.ScaledObject](objs),
		triggerAuths:    objectsOf[kedav1alpha1.TriggerAuthentication](objs),
	}
	c.checkNamespace(objs)
	c.checkWorkloads()
	c.checkDaprApps()
	c.checkAuthSettings()
	c.checkComponents()
	c.checkSubscriptions()
	c.checkDaprResources()
	c.checkScaling()
	c.checkNetworkPolicies()
	c.checkRBAC()
	sort.SliceStable(c.findings, func(i, j int) bool { return c.findings[i].Object.String() < c.findings[j].Object.String() })
	return c.findings
}

// checker holds one overlay's objects by type while the checks run.
type checker struct {
	p *Project

	namespaces      []typed[corev1.Namespace]
	serviceAccounts []typed[corev1.ServiceAccount]
	configMaps      []typed[corev1.ConfigMap]
	services        []typed[corev1.Service]
	deployments     []typed[appsv1.Deployment]
	pdbs            []typed[policyv1.PodDisruptionBudget]
	netpols         []typed[networkingv1.NetworkPolicy]
	hpas            []typed[autoscalingv2.HorizontalPodAutoscaler]
	roles           []typed[rbacv1.Role]
	roleBindings    []typed[rbacv1.RoleBinding]
	components      []typed[componentsv1alpha1.Component]
	configurations  []typed[configurationv1alpha1.Configuration]
	resiliencies    []typed[resiliencyv1alpha1.Resiliency]
	subscriptions   []typed[subscriptionsv2alpha1.Subscription]
	scaledObjects   []typed[kedav1alpha1.ScaledObject]
	triggerAuths    []typed[kedav1alpha1.TriggerAuthentication]

	findings Findings
}

func (c *checker) addf(ref Ref, format string, args ...any) {
	c.findings = append(c.findings, Finding{Object: ref, Message: fmt.Sprintf(format, args...)})
}

// namespace is the namespace the overlay deploys to (its one Namespace object).
func (c *checker) namespace() string {
	if len(c.namespaces) == 1 {
		return c.namespaces[0].V.Name
	}
	return ""
}

// missing names an object that should exist and does not.
func (c *checker) missing(kind, name string) Ref {
	return Ref{Kind: kind, Namespace: c.namespace(), Name: name}
}

func (c *checker) checkNamespace(objs []Object) {
	if len(c.namespaces) != 1 {
		names := make([]string, len(c.namespaces))
		for i, n := range c.namespaces {
			names[i] = n.V.Name
		}
		c.addf(Ref{Kind: "Namespace"}, "an overlay deploys to exactly one Namespace, found %d %v", len(names), names)
		return
	}
	ns := c.namespace()
	for _, o := range objs {
		if o.Ref.Kind != "Namespace" && o.Ref.Namespace != ns {
			c.addf(o.Ref, "is in namespace %q, not in the overlay's namespace %q", o.Ref.Namespace, ns)
		}
	}
}

// daprApps are dapr.yaml's apps that run with a sidecar, in dapr.yaml's order.
func (c *checker) daprApps() []App {
	var out []App
	for _, a := range c.p.Apps {
		if _, sim := simulators[a.ID]; !sim {
			out = append(out, a)
		}
	}
	return out
}

func (c *checker) deployment(name string) *typed[appsv1.Deployment] {
	for i := range c.deployments {
		if c.deployments[i].V.Name == name {
			return &c.deployments[i]
		}
	}
	return nil
}

func (c *checker) component(name string) *typed[componentsv1alpha1.Component] {
	for i := range c.components {
		if c.components[i].V.Name == name {
			return &c.components[i]
		}
	}
	return nil
}

func (c *checker) hasServiceAccount(name string) bool {
	for _, sa := range c.serviceAccounts {
		if sa.V.Name == name {
			return true
		}
	}
	return false
}

// metadataValue returns a component's plain metadata value (not a secretKeyRef) and whether it is set.
func metadataValue(comp *componentsv1alpha1.Component, name string) (string, bool) {
	for _, m := range comp.Spec.Metadata {
		if m.Name == name && m.SecretKeyRef.Name == "" {
			return m.Value.String(), true
		}
	}
	return "", false
}
