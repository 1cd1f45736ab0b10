package k8scheck

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	"github.com/dapr/dapr/pkg/injector/annotations"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// sidecarAnnotation is one annotation every Dapr service's pods must carry, and what its value must be.
type sidecarAnnotation struct {
	key   string
	valid func(v string) string // "" when valid, else what is wrong
}

// requiredAnnotations are the sidecar settings of the platform (the keys are Dapr's own constants, so a
// misspelt key cannot pass). dapr.io/app-id, dapr.io/app-port and dapr.io/config are checked against
// dapr.yaml and the overlay's objects separately.
var requiredAnnotations = []sidecarAnnotation{
	{annotations.KeyEnabled, equals("true")},
	{annotations.KeyAppID, nonEmpty},
	{annotations.KeyAppPort, nonEmpty},
	// The apps serve plain HTTP/1.1 (dapr.yaml: appProtocol: http); stated rather than left to the injector's
	// default, and any other value would make the sidecar speak gRPC or TLS to them.
	{annotations.KeyAppProtocol, equals("http")},
	{annotations.KeyConfig, nonEmpty},
	{annotations.KeyEnableAppHealthCheck, equals("true")},
	{annotations.KeyAppHealthCheckPath, equals("/healthz")},
	{annotations.KeyAPITokenSecret, nonEmpty},
	{annotations.KeyAppTokenSecret, nonEmpty},
	{annotations.KeyGracefulShutdownSeconds, positiveInt},
	{annotations.KeyLogAsJSON, equals("true")},
	{annotations.KeyEnableMetrics, equals("true")},
	{annotations.KeyCPURequest, quantity},
	{annotations.KeyCPULimit, quantity},
	{annotations.KeyMemoryRequest, quantity},
	{annotations.KeyMemoryLimit, quantity},
	// The sidecar's own probes are stated rather than left to the injector's defaults, which Dapr 1.18
	// changed (liveness 3s/6s/3 → 180s/10s/5, readiness 3s/6s/3 → 1s/1s/5): a Dapr upgrade must not change
	// when the kubelet restarts a sidecar or takes a pod out of its Service unnoticed.
	{annotations.KeyLivenessProbeDelaySeconds, positiveCount},
	{annotations.KeyLivenessProbePeriodSeconds, positiveCount},
	{annotations.KeyLivenessProbeTimeoutSeconds, positiveCount},
	{annotations.KeyLivenessProbeThreshold, positiveCount},
	{annotations.KeyReadinessProbeDelaySeconds, positiveCount},
	{annotations.KeyReadinessProbePeriodSeconds, positiveCount},
	{annotations.KeyReadinessProbeTimeoutSeconds, positiveCount},
	{annotations.KeyReadinessProbeThreshold, positiveCount},
}

// optionalAnnotations are the further sidecar settings a Dapr service's pods may carry, checked when present.
var optionalAnnotations = []sidecarAnnotation{
	{annotations.KeyAppHealthProbeInterval, positiveCount},
	{annotations.KeyAppHealthProbeTimeout, positiveCount},
	{annotations.KeyAppHealthThreshold, positiveCount},
	{annotations.KeyBlockShutdownDuration, nonEmpty}, // parsed by checkShutdownTiming
	{annotations.KeyLogLevel, oneOf("debug", "info", "warn", "error")},
	{annotations.KeyMetricsPort, positiveCount},
	{annotations.KeySidecarSeccompProfileType, equals("RuntimeDefault")},
}

// checkAnnotationKeys reports dapr.io/ pod annotations that are neither required nor optional. Both lists
// name their keys by the constants of the Dapr release's pkg/injector/annotations, so a key that release
// renamed or dropped fails to compile, and an annotation outside them (misspelt, deprecated such as
// dapr.io/app-ssl, or simply undecided) is one the injector would ignore or the platform has not chosen.
func (c *checker) checkAnnotationKeys(ref Ref, ann map[string]string) {
	known := map[string]bool{}
	for _, a := range slices.Concat(requiredAnnotations, optionalAnnotations) {
		known[a.key] = true
	}
	for _, key := range slices.Sorted(maps.Keys(ann)) {
		if strings.HasPrefix(key, daprAnnotationPrefix) && !known[key] {
			c.addf(ref, "pod annotation %s is not a sidecar setting of the platform (misspelt, deprecated, or missing from optionalAnnotations)", key)
		}
	}
}

// daprAnnotationPrefix starts every annotation the Dapr sidecar injector reads.
const daprAnnotationPrefix = "dapr.io/"

func equals(want string) func(string) string {
	return func(v string) string {
		if v != want {
			return fmt.Sprintf("must be %q", want)
		}
		return ""
	}
}

func oneOf(values ...string) func(string) string {
	return func(v string) string {
		if !slices.Contains(values, v) {
			return fmt.Sprintf("must be one of %s", strings.Join(values, ", "))
		}
		return ""
	}
}

func nonEmpty(v string) string {
	if strings.TrimSpace(v) == "" {
		return "must not be empty"
	}
	return ""
}

func positiveCount(v string) string {
	if n, err := strconv.Atoi(v); err != nil || n <= 0 {
		return "must be a positive whole number"
	}
	return ""
}

func positiveInt(v string) string {
	if n, err := strconv.Atoi(v); err != nil || n <= 0 {
		return "must be a positive number of seconds"
	}
	return ""
}

func quantity(v string) string {
	if _, err := resource.ParseQuantity(v); err != nil {
		return "must be a Kubernetes quantity (e.g. 100m, 128Mi)"
	}
	return ""
}

// checkDaprApps checks each Dapr service of dapr.yaml against its Deployment: the sidecar annotations, the
// app id, port and variables, the API tokens, the probes, shutdown timing, its Service, disruption budget
// and topology spread. A simulator, where deployed, must match its port and run without a sidecar.
func (c *checker) checkDaprApps() {
	apps := c.daprApps()
	known := map[string]bool{}
	for _, app := range apps {
		known[app.ID] = true
		d := c.deployment(app.ID)
		if d == nil {
			c.addf(c.missing("Deployment", app.ID), "missing: dapr.yaml runs the Dapr app %q, which every overlay deploys", app.ID)
			continue
		}
		c.checkDaprDeployment(app, d)
	}
	for _, d := range c.deployments {
		ann := d.V.Spec.Template.Annotations
		c.checkAnnotationKeys(d.Ref, ann)
		if ann[annotations.KeyEnabled] != "true" {
			if app, ok := c.p.App(d.V.Name); ok && simulators[app.ID] != "" {
				c.checkSimulator(app, d)
			}
			continue
		}
		if reason, sim := simulators[d.V.Name]; sim {
			c.addf(d.Ref, "must not have a Dapr sidecar: %s", reason)
		} else if !known[d.V.Name] {
			c.addf(d.Ref, "has a Dapr sidecar but dapr.yaml has no app %q", d.V.Name)
		}
	}
}

func (c *checker) checkDaprDeployment(app App, d *typed[appsv1.Deployment]) {
	pod := d.V.Spec.Template
	ann := pod.Annotations
	for _, a := range requiredAnnotations {
		v, ok := ann[a.key]
		switch {
		case !ok:
			c.addf(d.Ref, "pod annotation %s is missing", a.key)
		case a.valid(v) != "":
			c.addf(d.Ref, "pod annotation %s is %q: it %s", a.key, v, a.valid(v))
		}
	}
	for _, a := range optionalAnnotations {
		if v, ok := ann[a.key]; ok && a.valid(v) != "" {
			c.addf(d.Ref, "pod annotation %s is %q: it %s", a.key, v, a.valid(v))
		}
	}
	if id, ok := ann[annotations.KeyAppID]; ok && id != app.ID {
		c.addf(d.Ref, "pod annotation %s is %q, but dapr.yaml's app id is %q", annotations.KeyAppID, id, app.ID)
	}
	if port, ok := ann[annotations.KeyAppPort]; ok && port != strconv.Itoa(app.Port) {
		c.addf(d.Ref, "pod annotation %s is %q, but dapr.yaml's appPort for %s is %d", annotations.KeyAppPort, port, app.ID, app.Port)
	}
	if cfg, ok := ann[annotations.KeyConfig]; ok && cfg != "" && !c.hasConfiguration(cfg) {
		c.addf(d.Ref, "pod annotation %s names Configuration %q, which the overlay does not define", annotations.KeyConfig, cfg)
	}
	c.checkShutdownTiming(d.Ref, pod.Spec, ann)

	if len(pod.Spec.Containers) != 1 {
		c.addf(d.Ref, "must have exactly one container (the app; daprd is injected beside it), has %d", len(pod.Spec.Containers))
		return
	}
	ctr := pod.Spec.Containers[0]
	if ctr.Name != appContainer {
		c.addf(d.Ref, "the app's container is called %q, not %q", ctr.Name, appContainer)
	}
	c.checkAppPort(d.Ref, app, ctr)
	c.checkHTTPProbe(d.Ref, ctr, "livenessProbe", ctr.LivenessProbe, "/healthz", app.Port)
	wantEnv := map[string]string{"APP_ID": app.ID, "APP_PORT": strconv.Itoa(app.Port), "APP_HOST": "0.0.0.0", "LOG_FORMAT": "json"}
	for k, v := range app.Env {
		wantEnv[k] = v
	}
	// The ops port answers readiness with its reasons; the kubelet probes the pod IP, so it listens on every
	// interface, like the app port.
	readyPort := app.Port
	if ops, err := strconv.Atoi(app.Env["OPS_PORT"]); err == nil {
		readyPort = ops
		wantEnv["OPS_HOST"] = "0.0.0.0"
	}
	c.checkHTTPProbe(d.Ref, ctr, "readinessProbe", ctr.ReadinessProbe, "/readyz", readyPort)

	c.checkEnv(d.Ref, ctr, wantEnv)
	// The injector hands these Secrets to daprd only; the app needs the same values to talk to its sidecar.
	c.checkTokenEnv(d.Ref, ctr, "DAPR_API_TOKEN", annotations.KeyAPITokenSecret, ann)
	c.checkTokenEnv(d.Ref, ctr, "APP_API_TOKEN", annotations.KeyAppTokenSecret, ann)

	c.checkService(d, app.Port)
	c.checkDisruptionBudget(d)
	c.checkTopologySpread(d)
}

func (c *checker) checkSimulator(app App, d typed[appsv1.Deployment]) {
	if len(d.V.Spec.Template.Spec.Containers) != 1 {
		c.addf(d.Ref, "must have exactly one container, has %d", len(d.V.Spec.Template.Spec.Containers))
		return
	}
	ctr := d.V.Spec.Template.Spec.Containers[0]
	c.checkAppPort(d.Ref, app, ctr)
	c.checkHTTPProbe(d.Ref, ctr, "livenessProbe", ctr.LivenessProbe, "/healthz", app.Port)
	c.checkHTTPProbe(d.Ref, ctr, "readinessProbe", ctr.ReadinessProbe, "/readyz", app.Port)
	c.checkEnv(d.Ref, ctr, map[string]string{"APP_PORT": strconv.Itoa(app.Port), "APP_HOST": "0.0.0.0", "LOG_FORMAT": "json"})
	c.checkService(&d, app.Port)
}

func (c *checker) checkAppPort(ref Ref, app App, ctr corev1.Container) {
	for _, p := range ctr.Ports {
		if p.ContainerPort == int32(app.Port) {
			return
		}
	}
	ports := make([]string, len(ctr.Ports))
	for i, p := range ctr.Ports {
		ports[i] = strconv.Itoa(int(p.ContainerPort))
	}
	c.addf(ref, "container %q exposes ports [%s], not dapr.yaml's appPort %d for %s", ctr.Name, strings.Join(ports, " "), app.Port, app.ID)
}

func (c *checker) checkHTTPProbe(ref Ref, ctr corev1.Container, field string, probe *corev1.Probe, path string, port int) {
	if probe == nil {
		return // reported by checkContainer
	}
	if probe.HTTPGet == nil {
		c.addf(ref, "container %q: %s must be an HTTP GET of %s", ctr.Name, field, path)
		return
	}
	if probe.HTTPGet.Path != path {
		c.addf(ref, "container %q: %s checks %q, not %s", ctr.Name, field, probe.HTTPGet.Path, path)
	}
	if got, ok := containerPort(ctr, probe.HTTPGet.Port); !ok || got != int32(port) {
		c.addf(ref, "container %q: %s targets port %s, not %d", ctr.Name, field, probe.HTTPGet.Port.String(), port)
	}
}

func (c *checker) checkEnv(ref Ref, ctr corev1.Container, want map[string]string) {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch e := envVar(ctr, k); {
		case e == nil:
			c.addf(ref, "container %q lacks the variable %s=%s", ctr.Name, k, want[k])
		case e.ValueFrom != nil || e.Value != want[k]:
			c.addf(ref, "container %q sets %s=%q, want %q", ctr.Name, k, e.Value, want[k])
		}
	}
}

func (c *checker) checkTokenEnv(ref Ref, ctr corev1.Container, name, annotation string, ann map[string]string) {
	secret := ann[annotation]
	if secret == "" {
		return // reported with the annotations
	}
	e := envVar(ctr, name)
	if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != "token" {
		c.addf(ref, "container %q must read %s from the Secret %q, key \"token\" (the one %s gives the sidecar)", ctr.Name, name, secret, annotation)
	}
}

// checkShutdownTiming makes sure the sidecar's shutdown fits in the pod's grace period, or Kubernetes kills it
// while it still drains.
func (c *checker) checkShutdownTiming(ref Ref, pod corev1.PodSpec, ann map[string]string) {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	graceful, err := strconv.Atoi(ann[annotations.KeyGracefulShutdownSeconds])
	if err != nil {
		return // reported with the annotations
	}
	var block time.Duration
	if v, ok := ann[annotations.KeyBlockShutdownDuration]; ok {
		if block, err = time.ParseDuration(v); err != nil {
			c.addf(ref, "pod annotation %s is %q: it must be a duration (e.g. 25s)", annotations.KeyBlockShutdownDuration, v)
			return
		}
	}
	if total := int64(graceful) + int64(block.Seconds()); total > grace {
		c.addf(ref, "the sidecar may take %ds to shut down (%s + %s), more than terminationGracePeriodSeconds %d",
			total, annotations.KeyBlockShutdownDuration, annotations.KeyGracefulShutdownSeconds, grace)
	}
}

func (c *checker) checkService(d *typed[appsv1.Deployment], port int) {
	ctr := d.V.Spec.Template.Spec.Containers[0]
	for _, s := range c.services {
		if !selectsPods(s.V.Spec.Selector, d.V) {
			continue
		}
		for _, p := range s.V.Spec.Ports {
			if got, ok := containerPort(ctr, p.TargetPort); ok && got == int32(port) {
				return
			}
		}
		c.addf(s.Ref, "selects the pods of %s but no port targets its app port %d", d.Ref, port)
		return
	}
	c.addf(c.missing("Service", d.V.Name), "missing: no Service selects the pods of %s", d.Ref)
}

func (c *checker) checkDisruptionBudget(d *typed[appsv1.Deployment]) {
	for _, pdb := range c.pdbs {
		if selects(pdb.V.Spec.Selector, d.V.Spec.Template.Labels) {
			return
		}
	}
	c.addf(c.missing("PodDisruptionBudget", d.V.Name), "missing: no PodDisruptionBudget selects the pods of %s", d.Ref)
}

func (c *checker) checkTopologySpread(d *typed[appsv1.Deployment]) {
	constraints := d.V.Spec.Template.Spec.TopologySpreadConstraints
	if len(constraints) == 0 {
		c.addf(d.Ref, "has no topologySpreadConstraints: its replicas could all land on one node or zone")
	}
	for i, tsc := range constraints {
		if !selects(tsc.LabelSelector, d.V.Spec.Template.Labels) {
			c.addf(d.Ref, "topologySpreadConstraints[%d] does not select the Deployment's own pods", i)
		}
	}
}

func (c *checker) hasConfiguration(name string) bool {
	for _, cfg := range c.configurations {
		if cfg.V.Name == name {
			return true
		}
	}
	return false
}

// loopbackAddress matches an address on the local machine, which in a pod is the pod itself.
var loopbackAddress = regexp.MustCompile(`\b(127\.0\.0\.1|localhost)\b`)

// localOnlyTypes are component types that read or write files of a developer's checkout, which no pod has.
var localOnlyTypes = map[string]string{
	"secretstores.local.file": "reads a JSON file of the repository",
	"bindings.localstorage":   "writes into the repository's .data/ folder",
}

// checkComponents checks that every component the apps use exists once, is scoped to the apps that use it,
// names an existing secret store, and can work in a pod.
func (c *checker) checkComponents() {
	seen := map[string]int{}
	secretStores := map[string]bool{kubernetesSecretStore: true}
	for _, comp := range c.components {
		seen[comp.V.Name]++
		if strings.HasPrefix(comp.V.Spec.Type, "secretstores.") {
			secretStores[comp.V.Name] = true
		}
	}
	names := make([]string, 0, len(requiredComponents))
	for name := range requiredComponents {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if seen[name] == 0 {
			c.addf(c.missing("Component", name), "missing: %s uses the component %q", strings.Join(requiredComponents[name], ", "), name)
		}
	}
	for _, comp := range c.components {
		ref, spec := comp.Ref, comp.V.Spec
		if seen[comp.V.Name] > 1 {
			c.addf(ref, "is defined %d times", seen[comp.V.Name])
		}
		if users := requiredComponents[comp.V.Name]; len(comp.V.Scopes) > 0 {
			for _, app := range users {
				if !slices.Contains(comp.V.Scopes, app) {
					c.addf(ref, "is scoped to [%s], which leaves out %s that uses it", strings.Join(comp.V.Scopes, " "), app)
				}
			}
		}
		if store := comp.V.Auth.SecretStore; store != "" && !secretStores[store] {
			c.addf(ref, "auth.secretStore %q is neither a secret store component of the overlay nor %q", store, kubernetesSecretStore)
		}
		if why, ok := localOnlyTypes[spec.Type]; ok {
			c.addf(ref, "type %s %s, which a pod does not have", spec.Type, why)
		}
		for _, m := range spec.Metadata {
			if v := m.Value.String(); loopbackAddress.MatchString(v) {
				c.addf(ref, "metadata %s is %q: in a pod that address is the pod itself; name the backend's Service", m.Name, v)
			}
		}
	}
}

// checkSubscriptions checks that the overlay holds exactly components/shared/subscriptions.yaml's
// subscriptions (tools/k8sgen copies them) and that each names an existing pub/sub component.
func (c *checker) checkSubscriptions() {
	rendered := map[string]Subscription{}
	for _, s := range c.subscriptions {
		sub := Subscription{Name: s.V.Name, PubSub: s.V.Spec.Pubsubname, Topic: s.V.Spec.Topic}
		if len(s.V.Scopes) == 1 {
			sub.App = s.V.Scopes[0]
		}
		rendered[s.V.Name] = sub
		if comp := c.component(sub.PubSub); comp == nil || !strings.HasPrefix(comp.V.Spec.Type, "pubsub.") {
			c.addf(s.Ref, "pubsubname %q names no pub/sub component of the overlay", sub.PubSub)
		}
	}
	for _, want := range c.p.Subscriptions {
		got, ok := rendered[want.Name]
		switch {
		case !ok:
			c.addf(c.missing("Subscription", want.Name), "missing: %s subscribes %s to %s (run `make k8s-generate`)", SubscriptionsFile, want.App, want.Topic)
		case got != want:
			c.addf(c.missing("Subscription", want.Name), "differs from %s: %+v, want %+v (run `make k8s-generate`)", SubscriptionsFile, got, want)
		}
		delete(rendered, want.Name)
	}
	for name := range rendered {
		c.addf(c.missing("Subscription", name), "is not in %s", SubscriptionsFile)
	}
}

// checkDaprResources checks the Configuration the sidecars use (mTLS on, traces sampled) and that the
// Resiliency policy targets components and apps that exist.
func (c *checker) checkDaprResources() {
	for _, cfg := range c.configurations {
		spec := cfg.V.Spec
		if spec.MTLSSpec == nil || spec.MTLSSpec.Enabled == nil || !*spec.MTLSSpec.Enabled {
			c.addf(cfg.Ref, "mtls.enabled must be true: sidecars talk to each other and to the control plane over mTLS")
		}
		rate := 0.0
		if spec.TracingSpec != nil {
			rate, _ = strconv.ParseFloat(spec.TracingSpec.SamplingRate, 64)
		}
		if rate <= 0 {
			c.addf(cfg.Ref, "tracing.samplingRate must be above 0 so the sidecars trace requests")
		}
	}
	if len(c.resiliencies) == 0 {
		c.addf(c.missing("Resiliency", "orderflow"), "missing: the sidecars would retry nothing (components/shared/resiliency.yaml)")
	}
	daprApps := map[string]bool{}
	for _, a := range c.daprApps() {
		daprApps[a.ID] = true
	}
	for _, r := range c.resiliencies {
		for _, name := range slices.Sorted(maps.Keys(r.V.Spec.Targets.Components)) {
			if c.component(name) == nil {
				c.addf(r.Ref, "targets component %q, which the overlay does not define", name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(r.V.Spec.Targets.Apps)) {
			if !daprApps[name] {
				c.addf(r.Ref, "targets app %q, which is not a Dapr app of dapr.yaml", name)
			}
		}
	}
}

// inputBindingHosts maps each app that hosts an input binding (a cron schedule, or a binding with
// direction input) to the binding: such a binding only fires in a running sidecar.
func (c *checker) inputBindingHosts() map[string]string {
	out := map[string]string{}
	for _, comp := range c.components {
		if !strings.HasPrefix(comp.V.Spec.Type, "bindings.") {
			continue
		}
		direction, _ := metadataValue(comp.V, "direction")
		if comp.V.Spec.Type != "bindings.cron" && !strings.Contains(direction, "input") {
			continue
		}
		for _, app := range comp.V.Scopes {
			out[app] = fmt.Sprintf("%s (%s)", comp.V.Name, comp.V.Spec.Type)
		}
	}
	return out
}

// pubsubComponent returns the pub/sub component the app's subscriptions use.
func (c *checker) pubsubComponent(app string) *typed[componentsv1alpha1.Component] {
	for _, s := range c.p.Subscriptions {
		if s.App == app {
			return c.component(s.PubSub)
		}
	}
	return nil
}
