// Package republish is the deadletters service's adapter for replays: it hands a kept CloudEvent back to its
// sidecar's pub/sub unchanged. internal/platform/daprx's Publisher builds CloudEvents from catalog events; a
// replay must instead send the bytes that died, so the id, type, source and trace stay the original's.
package republish

import (
	"context"

	dapr "github.com/dapr/go-sdk/client"

	"orderflow/internal/apperr"
	"orderflow/internal/platform/daprx"
)

// Publisher republishes CloudEvents on one pub/sub component.
type Publisher struct {
	client daprx.PublishClient
	pubsub string
}

// New returns a Publisher on the pub/sub component called pubsub.
func New(client daprx.PublishClient, pubsub string) *Publisher {
	return &Publisher{client: client, pubsub: pubsub}
}

// Republish implements deadletter.Republisher. topic is the full topic name (any TOPIC_PREFIX included), as the
// dead letter recorded it. Published as application/cloudevents+json, the event passes through the sidecar as
// is; the sidecar only sets topic and pubsubname, to the same values.
func (p *Publisher) Republish(ctx context.Context, topic string, cloudEvent []byte) error {
	err := p.client.PublishEvent(ctx, p.pubsub, topic, cloudEvent, dapr.PublishEventWithContentType("application/cloudevents+json"))
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "publishing to %s failed; retry later", topic)
	}
	return nil
}
