package k8scheck

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"

	componentsv1alpha1 "github.com/dapr/dapr/pkg/apis/components/v1alpha1"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
)

// scaler is how KEDA watches the backlog of one kind of Dapr pub/sub, given how that component names the
// broker entity each (consumer, topic) reads from.
type scaler struct {
	// trigger is the KEDA trigger type.
	trigger string
	// metadata are the trigger metadata keys KEDA 2.21's scaler reads (pkg/scalers/*_scaler.go); any other
	// key is a typo KEDA would ignore. Credentials (password, connection) are left out on purpose: they
	// belong in a TriggerAuthentication, not in the manifest.
	metadata []string
	// perTopic: the app reads each topic from its own entity, so it needs a trigger per topic; otherwise one
	// entity (an SQS queue) holds the backlog of all its topics.
	perTopic bool
	// topic checks one trigger against the app's subscriptions and the pub/sub component, and returns the
	// topic it watches ("" when not per topic) or an error saying what is wrong.
	topic func(t trigger) (string, error)
}

// trigger is one KEDA trigger with what checking it needs.
type trigger struct {
	meta       map[string]string
	app        string   // the scaled app
	consumerID string   // the app's consumer id on the pub/sub
	topics     []string // the topics the app subscribes to
	pubsub     *componentsv1alpha1.Component
	namespace  string // the overlay's namespace
}

// scalers maps each Dapr pub/sub type to its KEDA scaler.
var scalers = map[string]scaler{
	// pubsub.redis: each topic is a stream; each consuming app a consumer group named after its consumerID.
	"pubsub.redis": {
		trigger: "redis-streams",
		metadata: []string{"address", "addresses", "host", "hosts", "port", "ports", "addressFromEnv", "hostFromEnv",
			"portFromEnv", "username", "usernameFromEnv", "passwordFromEnv", "stream", "consumerGroup", "pendingEntriesCount",
			"streamLength", "lagCount", "activationLagCount", "databaseIndex", "enableTLS", "unsafeSsl"},
		perTopic: true,
		topic:    redisStreamsTopic,
	},
	// pubsub.aws.snssqs: each topic is an SNS topic; each consuming app ONE SQS queue named after its
	// (sanitized) consumerID, subscribed to all its topics.
	"pubsub.aws.snssqs": {
		trigger: "aws-sqs-queue",
		metadata: []string{"queueURL", "queueURLFromEnv", "queueLength", "activationQueueLength", "awsRegion", "awsEndpoint",
			"scaleOnInFlight", "scaleOnDelayed", "identityOwner"},
		topic: sqsQueueTopic,
	},
	// pubsub.azure.servicebus.topics: each topic a Service Bus topic; each consuming app a subscription on it
	// named after its consumerID.
	"pubsub.azure.servicebus.topics": {
		trigger: "azure-servicebus",
		metadata: []string{"messageCount", "activationMessageCount", "queueName", "topicName", "subscriptionName",
			"connectionFromEnv", "namespace", "cloud", "endpointSuffix", "useRegex", "operation"},
		perTopic: true,
		topic:    serviceBusTopic,
	},
	// pubsub.gcp.pubsub: each topic a Pub/Sub topic; each consuming app a subscription per topic named
	// "<consumerID>-<topic>" (components-contrib's BuildSubscriptionID).
	"pubsub.gcp.pubsub": {
		trigger: "gcp-pubsub",
		metadata: []string{"mode", "value", "activationValue", "aggregation", "timeHorizon", "valueIfNull", "subscriptionName",
			"subscriptionNameFromEnv", "topicName", "topicNameFromEnv", "credentialsFromEnv", "credentialsFromEnvFile"},
		perTopic: true,
		topic:    gcpPubSubTopic,
	},
}

// checkScaling checks the autoscalers: the public API has an HPA with at least two replicas and no KEDA;
// every other subscriber has one ScaledObject whose triggers watch exactly the broker entities Dapr reads
// its topics from; apps hosting input bindings never scale to zero; autoscaled Deployments leave replicas
// to their autoscaler.
func (c *checker) checkScaling() {
	autoscalers := map[string][]Ref{}
	for _, h := range c.hpas {
		target := h.V.Spec.ScaleTargetRef
		if target.Kind != "Deployment" || c.deployment(target.Name) == nil {
			c.addf(h.Ref, "scaleTargetRef names %s %q, which the overlay does not define", target.Kind, target.Name)
			continue
		}
		autoscalers[target.Name] = append(autoscalers[target.Name], h.Ref)
	}
	for _, so := range c.scaledObjects {
		target := so.V.Spec.ScaleTargetRef
		if target == nil || (target.Kind != "" && target.Kind != "Deployment") || c.deployment(target.Name) == nil {
			c.addf(so.Ref, "scaleTargetRef does not name a Deployment of the overlay")
			continue
		}
		autoscalers[target.Name] = append(autoscalers[target.Name], so.Ref)
		c.checkScaledObject(so)
	}
	for _, d := range c.deployments {
		refs := autoscalers[d.V.Name]
		if len(refs) > 1 {
			c.addf(d.Ref, "is scaled by %d autoscalers (%v), which would fight over its replicas", len(refs), refs)
		}
		if len(refs) > 0 && d.V.Spec.Replicas != nil {
			c.addf(d.Ref, "sets spec.replicas although %s owns them: every apply would reset the count", refs[0])
		}
	}

	if d := c.deployment(publicAPI); d != nil {
		var hpaMin int32
		hasHPA := false
		for _, h := range c.hpas {
			if h.V.Spec.ScaleTargetRef.Name == publicAPI {
				hasHPA = true
				if h.V.Spec.MinReplicas != nil {
					hpaMin = *h.V.Spec.MinReplicas
				} else {
					hpaMin = 1
				}
				if hpaMin < minPublicAPIReplicas {
					c.addf(h.Ref, "minReplicas is %d: the public API %s keeps at least %d replicas", hpaMin, publicAPI, minPublicAPIReplicas)
				}
			}
		}
		if !hasHPA {
			c.addf(c.missing("HorizontalPodAutoscaler", publicAPI), "missing: the public API %s scales on an HPA with at least %d replicas", publicAPI, minPublicAPIReplicas)
		}
	}
	for app, why := range singleReplica {
		if d := c.deployment(app); d != nil {
			c.checkSingleReplica(d, why, autoscalers[app])
		}
	}
	for _, app := range c.p.Subscribers() {
		if app == publicAPI || simulators[app] != "" || singleReplica[app] != "" || c.deployment(app) == nil {
			continue
		}
		n := 0
		for _, so := range c.scaledObjects {
			if so.V.Spec.ScaleTargetRef != nil && so.V.Spec.ScaleTargetRef.Name == app {
				n++
			}
		}
		if n == 0 {
			c.addf(c.missing("ScaledObject", app), "missing: %s subscribes to %s and scales with KEDA on its backlog", app, strings.Join(c.p.Topics(app), ", "))
		}
	}
}

// singleReplica are the subscribers that run exactly one replica, not scaled on their backlog, and why.
var singleReplica = map[string]string{
	"console": "its live pages are fed in-process by the replica that applied each event; a second replica would share its consumer group and see half of them",
}

// checkSingleReplica checks that a single-replica app says so: replicas 1, no autoscaler, and the Recreate
// strategy, so that a rollout never runs two (a rolling update would, for a while).
func (c *checker) checkSingleReplica(d *typed[appsv1.Deployment], why string, scalers []Ref) {
	if len(scalers) > 0 {
		c.addf(scalers[0], "scales %s, which runs one replica: %s", d.V.Name, why)
	}
	if d.V.Spec.Replicas == nil || *d.V.Spec.Replicas != 1 {
		c.addf(d.Ref, "must set replicas: 1: %s", why)
	}
	if d.V.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		c.addf(d.Ref, "must use the Recreate strategy, so a rollout never runs two replicas: %s", why)
	}
}

func (c *checker) checkScaledObject(so typed[kedav1alpha1.ScaledObject]) {
	spec := so.V.Spec
	app := spec.ScaleTargetRef.Name
	if app == publicAPI {
		c.addf(so.Ref, "the public API %s scales on its HPA, never to zero: it must not have a ScaledObject", publicAPI)
		return
	}
	minReplicas := int32(0)
	if spec.MinReplicaCount != nil {
		minReplicas = *spec.MinReplicaCount
	}
	if binding, ok := c.inputBindingHosts()[app]; ok && minReplicas < 1 {
		c.addf(so.Ref, "minReplicaCount is %d, but %s hosts the input binding %s, which only fires in a running sidecar: it must be at least 1",
			minReplicas, app, binding)
	}
	if spec.MaxReplicaCount != nil && *spec.MaxReplicaCount < max(minReplicas, 1) {
		c.addf(so.Ref, "maxReplicaCount %d is below minReplicaCount %d", *spec.MaxReplicaCount, minReplicas)
	}

	pubsub := c.pubsubComponent(app)
	if pubsub == nil {
		c.addf(so.Ref, "%s subscribes to no topic of a pub/sub component the overlay defines, so nothing can drive its scaling", app)
		return
	}
	sc, ok := scalers[pubsub.V.Spec.Type]
	if !ok {
		c.addf(so.Ref, "k8scheck knows no KEDA scaler for the pub/sub type %s of %s; add it to scalers", pubsub.V.Spec.Type, pubsub.Ref)
		return
	}
	consumerID, err := consumerIDOf(pubsub.V, app, c.namespace())
	if err != nil {
		c.addf(so.Ref, "%s: %v", pubsub.Ref, err)
		return
	}
	watched := map[string]bool{}
	for i, t := range spec.Triggers {
		where := fmt.Sprintf("trigger %d (%s)", i+1, t.Type)
		if t.Name != "" {
			where = fmt.Sprintf("trigger %d %q (%s)", i+1, t.Name, t.Type)
		}
		if t.Type != sc.trigger {
			c.addf(so.Ref, "%s: the pub/sub is %s, whose backlog KEDA reads with a %s trigger", where, pubsub.V.Spec.Type, sc.trigger)
			continue
		}
		for _, key := range slices.Sorted(maps.Keys(t.Metadata)) {
			if !slices.Contains(sc.metadata, key) {
				c.addf(so.Ref, "%s: unknown metadata key %q (KEDA's %s scaler reads %s)", where, key, sc.trigger, strings.Join(sc.metadata, ", "))
			}
		}
		if t.AuthenticationRef != nil && !c.hasTriggerAuthentication(t.AuthenticationRef) {
			c.addf(so.Ref, "%s: authenticationRef names TriggerAuthentication %q, which the overlay does not define", where, t.AuthenticationRef.Name)
		}
		topic, err := sc.topic(trigger{meta: t.Metadata, app: app, consumerID: consumerID, topics: c.p.Topics(app),
			pubsub: pubsub.V, namespace: c.namespace()})
		if err != nil {
			c.addf(so.Ref, "%s: %v", where, err)
			continue
		}
		if watched[topic] {
			c.addf(so.Ref, "%s watches %s a second time", where, orQueue(topic))
		}
		watched[topic] = true
	}
	if !sc.perTopic {
		if !watched[""] {
			c.addf(so.Ref, "no valid %s trigger watches %s's queue", sc.trigger, app)
		}
		return
	}
	for _, topic := range c.p.Topics(app) {
		if !watched[topic] {
			c.addf(so.Ref, "no trigger watches topic %q, which %s consumes: a backlog there would never wake a scaled-to-zero %s",
				topic, app, app)
		}
	}
}

func orQueue(topic string) string {
	if topic == "" {
		return "the queue"
	}
	return fmt.Sprintf("topic %q", topic)
}

func (c *checker) hasTriggerAuthentication(ref *kedav1alpha1.AuthenticationRef) bool {
	if ref.Kind != "" && ref.Kind != "TriggerAuthentication" {
		return true // a ClusterTriggerAuthentication lives outside the overlay
	}
	for _, ta := range c.triggerAuths {
		if ta.V.Name == ref.Name {
			return true
		}
	}
	return false
}

// consumerIDOf returns the consumer id the app's sidecar uses on a pub/sub component: its consumerID
// metadata, with Dapr's {appID} and {namespace} templates expanded, or the app id (pkg/runtime/processor/pubsub).
func consumerIDOf(pubsub *componentsv1alpha1.Component, app, namespace string) (string, error) {
	id, ok := metadataValue(pubsub, "consumerID")
	if !ok || strings.TrimSpace(id) == "" {
		return app, nil
	}
	if strings.Contains(id, "{podName}") {
		return "", fmt.Errorf("consumerID %q gives every pod its own consumer, so no single backlog describes the app", id)
	}
	id = strings.ReplaceAll(id, "{namespace}", namespace+"."+app)
	return strings.ReplaceAll(strings.TrimSpace(id), "{appID}", app), nil
}

func (t trigger) consumes(topic string) error {
	if !slices.Contains(t.topics, topic) {
		return fmt.Errorf("watches topic %q, which %s does not subscribe to (%s: %s)", topic, t.app, SubscriptionsFile, strings.Join(t.topics, ", "))
	}
	return nil
}

func redisStreamsTopic(t trigger) (string, error) {
	stream := t.meta["stream"]
	if err := t.consumes(stream); err != nil {
		return "", fmt.Errorf("stream: %w", err)
	}
	if group := t.meta["consumerGroup"]; group != t.consumerID {
		return "", fmt.Errorf("consumerGroup is %q, but %s reads stream %q in the consumer group %q (Dapr names it after the consumerID)",
			group, t.app, stream, t.consumerID)
	}
	if t.meta["lagCount"] == "" {
		return "", fmt.Errorf("no lagCount: pending entries count only delivered messages, and a scaled-to-zero %s is delivered none, so it would never wake", t.app)
	}
	// KEDA's operator runs in its own namespace, so the address must name the pub/sub's Redis Service with
	// the overlay's namespace.
	redisHost, _ := metadataValue(t.pubsub, "redisHost")
	svc, port, _ := net.SplitHostPort(redisHost)
	want := net.JoinHostPort(fmt.Sprintf("%s.%s.svc.cluster.local", svc, t.namespace), port)
	if addr := t.meta["address"]; addr != want {
		return "", fmt.Errorf("address is %q, but the pub/sub's Redis (redisHost %q) is %q from KEDA's namespace", addr, redisHost, want)
	}
	return stream, nil
}

func sqsQueueTopic(t trigger) (string, error) {
	u, err := url.Parse(t.meta["queueURL"])
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("queueURL %q is not a queue URL", t.meta["queueURL"])
	}
	queue := u.Path[strings.LastIndex(u.Path, "/")+1:]
	if want := awsSanitizedName(t.consumerID); queue != want {
		return "", fmt.Errorf("queueURL names the queue %q, but %s's sidecar reads all its topics from the queue %q (its consumerID)", queue, t.app, want)
	}
	if region, _ := metadataValue(t.pubsub, "region"); t.meta["awsRegion"] != region {
		return "", fmt.Errorf("awsRegion is %q, but the pub/sub's queues are in %q", t.meta["awsRegion"], region)
	}
	return "", nil
}

// awsSanitizedName is what pubsub.aws.snssqs does to a name (nameToAWSSanitizedName): it keeps letters,
// digits, "-" and "_", up to 80 characters.
func awsSanitizedName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') && b.Len() < 80 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func serviceBusTopic(t trigger) (string, error) {
	topic := t.meta["topicName"]
	if err := t.consumes(topic); err != nil {
		return "", fmt.Errorf("topicName: %w", err)
	}
	if sub := t.meta["subscriptionName"]; sub != t.consumerID {
		return "", fmt.Errorf("subscriptionName is %q, but %s's subscription on %q is %q (its consumerID)", sub, t.app, topic, t.consumerID)
	}
	namespace, _ := metadataValue(t.pubsub, "namespaceName")
	if ns := t.meta["namespace"]; ns != strings.TrimSuffix(namespace, ".servicebus.windows.net") {
		return "", fmt.Errorf("namespace is %q, but the pub/sub's namespaceName is %q", ns, namespace)
	}
	return topic, nil
}

func gcpPubSubTopic(t trigger) (string, error) {
	name := t.meta["subscriptionName"]
	if project, _ := metadataValue(t.pubsub, "projectId"); strings.HasPrefix(name, "projects/") {
		prefix := "projects/" + project + "/subscriptions/"
		if !strings.HasPrefix(name, prefix) {
			return "", fmt.Errorf("subscriptionName %q is not in the pub/sub's project (%s…)", name, prefix)
		}
		name = strings.TrimPrefix(name, prefix)
	}
	topic, ok := strings.CutPrefix(name, t.consumerID+"-")
	if !ok {
		return "", fmt.Errorf("subscriptionName %q is not one of %s's subscriptions (Dapr names them %q)", name, t.app, t.consumerID+"-<topic>")
	}
	if err := t.consumes(topic); err != nil {
		return "", fmt.Errorf("subscriptionName: %w", err)
	}
	return topic, nil
}
