package daprx

import (
	"context"
	"encoding/json"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"

	"orderflow/internal/events"
	"orderflow/internal/platform/tracing"
)

// PublishClient is the part of the Dapr client a Publisher uses.
type PublishClient interface {
	PublishEvent(ctx context.Context, pubsubName, topicName string, data interface{}, opts ...dapr.PublishEventOption) error
}

// Publisher publishes catalog events as structured CloudEvents, so the id, type, subject and time orderflow
// chose survive the broker unchanged (Dapr passes application/cloudevents+json through, adding topic and
// pubsubname).
type Publisher struct {
	client      PublishClient
	pubsub      string
	topicPrefix string
	source      string
}

// NewPublisher returns a Publisher on the pub/sub component pubsub. source is the CloudEvent source (the app
// id); topicPrefix namespaces topics when several deployments share a broker.
func NewPublisher(client PublishClient, pubsub, topicPrefix, source string) *Publisher {
	return &Publisher{client: client, pubsub: pubsub, topicPrefix: topicPrefix, source: source}
}

// Publish sends the events in order; it stops at the first failure so the caller can retry the whole batch
// (consumers deduplicate on the deterministic ids).
func (p *Publisher) Publish(ctx context.Context, evs ...events.Event) error {
	tp := tracing.From(ctx)
	for _, e := range evs {
		env, err := events.Wrap(e, p.source, tp.String())
		if err != nil {
			return err
		}
		body, err := json.Marshal(env)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", e.ID, err)
		}
		topic := p.topicPrefix + e.Kind.Topic
		if err := p.client.PublishEvent(ctx, p.pubsub, topic, body,
			dapr.PublishEventWithContentType("application/cloudevents+json")); err != nil {
			return unavailable(err, "publishing %s to %s", e.ID, topic)
		}
	}
	return nil
}
