package subscriber_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

func engine() *gin.Engine {
	log := logrus.New()
	log.SetLevel(logrus.PanicLevel)
	return web.NewEngine(logrus.NewEntry(log))
}

func cloudEvent(t testing.TB, k events.Kind, data any) []byte {
	t.Helper()
	env, err := events.Wrap(events.New(k, "o-1", time.Now(), data), "test", "")
	require.NoError(t, err)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	return b
}

func deliver(h http.Handler, path string, body []byte, token string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	if token != "" {
		req.Header.Set(web.HeaderDaprAPIToken, token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var v struct{ Status string }
	_ = json.Unmarshal(rec.Body.Bytes(), &v)
	return rec.Code, v.Status
}

func TestVerdicts(t *testing.T) {
	t.Parallel()
	valid := events.OrderCancelRequestedData{OrderID: "o-1"}
	tests := []struct {
		name    string
		body    func(t *testing.T) []byte
		handler error
		want    string
	}{
		{"handled", func(t *testing.T) []byte { return cloudEvent(t, events.OrderCancelRequested, valid) }, nil, subscriber.StatusSuccess},
		{"transient failure retries", func(t *testing.T) []byte { return cloudEvent(t, events.OrderCancelRequested, valid) },
			apperr.New(apperr.Unavailable, "down"), subscriber.StatusRetry},
		{"unexpected failure retries", func(t *testing.T) []byte { return cloudEvent(t, events.OrderCancelRequested, valid) },
			errors.New("boom"), subscriber.StatusRetry},
		{"permanent failure drops", func(t *testing.T) []byte { return cloudEvent(t, events.OrderCancelRequested, valid) },
			apperr.Invalidf("x", "bad"), subscriber.StatusDrop},
		{"not a cloud event drops", func(*testing.T) []byte { return []byte("garbage") }, nil, subscriber.StatusDrop},
		{"wrong type drops", func(t *testing.T) []byte { return cloudEvent(t, events.OrderPlaced, valid) }, nil, subscriber.StatusDrop},
		{"invalid payload drops", func(t *testing.T) []byte {
			return cloudEvent(t, events.OrderCancelRequested, events.OrderCancelRequestedData{})
		}, nil, subscriber.StatusDrop},
		{"unknown payload field drops", func(t *testing.T) []byte {
			return cloudEvent(t, events.OrderCancelRequested, map[string]any{"orderId": "o-1", "surprise": true})
		}, nil, subscriber.StatusDrop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := engine()
			r := subscriber.NewRouter(e, "", "p.")
			called := false
			r.On(events.OrderCancelRequested, subscriber.Typed(func(_ context.Context, id string, d events.OrderCancelRequestedData) error {
				called = true
				assert.Equal(t, "o-1/order.cancel-requested", id)
				return tc.handler
			}))
			code, verdict := deliver(e, "/events/order.cancel-requested", tc.body(t), "")
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, tc.want, verdict)
			if tc.want != subscriber.StatusDrop || tc.handler != nil {
				assert.True(t, called)
			}
			assert.Equal(t, []string{"p.order.cancel-requested"}, r.Topics())
		})
	}
}

func TestUnservedEventRouteDropsToDeadLetterInsteadOf404(t *testing.T) {
	t.Parallel()
	e := engine()
	subscriber.NewRouter(e, "", "")
	code, verdict := deliver(e, "/events/unknown.topic", []byte(`{}`), "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, subscriber.StatusDrop, verdict)
}

func TestAppTokenGuardsSidecarRoutes(t *testing.T) {
	t.Parallel()
	e := engine()
	r := subscriber.NewRouter(e, "s3cret", "")
	r.On(events.OrderCancelRequested, subscriber.Typed(func(context.Context, string, events.OrderCancelRequestedData) error { return nil }))
	body := cloudEvent(t, events.OrderCancelRequested, events.OrderCancelRequestedData{OrderID: "o-1"})
	code, _ := deliver(e, "/events/order.cancel-requested", body, "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = deliver(e, "/events/order.cancel-requested", body, "wrong")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, verdict := deliver(e, "/events/order.cancel-requested", body, "s3cret")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, subscriber.StatusSuccess, verdict)
}

func TestSubscriptionsStartedWhenSidecarAsks(t *testing.T) {
	t.Parallel()
	e := engine()
	r := subscriber.NewRouter(e, "", "")
	assert.False(t, r.SubscriptionsStarted())
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dapr/subscribe", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `[]`, rec.Body.String())
	assert.True(t, r.SubscriptionsStarted())
}

func TestBulkDeliveryAnswersEachEntry(t *testing.T) {
	t.Parallel()
	e := engine()
	r := subscriber.NewRouter(e, "", "")
	r.On(events.OrderCancelRequested, subscriber.Typed(func(_ context.Context, _ string, d events.OrderCancelRequestedData) error {
		if d.OrderID == "o-retry" {
			return apperr.New(apperr.Unavailable, "later")
		}
		return nil
	}))
	entry := func(id string, data events.OrderCancelRequestedData) map[string]any {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(cloudEvent(t, events.OrderCancelRequested, data), &ev))
		return map[string]any{"entryId": id, "event": ev, "contentType": "application/cloudevents+json"}
	}
	body, err := json.Marshal(map[string]any{
		"id": "batch", "type": "com.dapr.event.sent.bulk", "topic": "order.cancel-requested",
		"entries": []any{
			entry("e1", events.OrderCancelRequestedData{OrderID: "o-ok"}),
			entry("e2", events.OrderCancelRequestedData{OrderID: "o-retry"}),
			entry("e3", events.OrderCancelRequestedData{}),
		},
	})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/events/order.cancel-requested", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	var resp struct {
		Statuses []struct{ EntryID, Status string }
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	got := map[string]string{}
	for _, s := range resp.Statuses {
		got[s.EntryID] = s.Status
	}
	assert.Equal(t, map[string]string{"e1": subscriber.StatusSuccess, "e2": subscriber.StatusRetry, "e3": subscriber.StatusDrop}, got)
}
