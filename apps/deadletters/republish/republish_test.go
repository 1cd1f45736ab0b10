package republish_test

import (
	"context"
	"errors"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/deadletters/republish"
	"orderflow/internal/apperr"
)

type client struct {
	pubsub, topic string
	data          any
	opts          int
	err           error
}

func (c *client) PublishEvent(_ context.Context, pubsub, topic string, data interface{}, opts ...dapr.PublishEventOption) error {
	c.pubsub, c.topic, c.data, c.opts = pubsub, topic, data, len(opts)
	return c.err
}

func TestRepublish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantCode apperr.Code
	}{
		{"the bytes go to the topic unchanged", nil, ""},
		{"a sidecar failure is transient", errors.New("rpc error: code = Unavailable"), apperr.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &client{err: tc.err}
			event := []byte(`{"id":"o-1/order.placed"}`)
			err := republish.New(c, "pubsub").Republish(context.Background(), "t1.order.placed", event)
			assert.Equal(t, "pubsub", c.pubsub)
			assert.Equal(t, "t1.order.placed", c.topic)
			assert.Equal(t, event, c.data)
			assert.Equal(t, 1, c.opts, "published with the CloudEvents content type")
			if tc.wantCode == "" {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tc.wantCode, apperr.CodeOf(err))
		})
	}
}
