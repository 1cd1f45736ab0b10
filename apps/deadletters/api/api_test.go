package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/deadletters/api"
	"orderflow/apps/deadletters/deadletter"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/auth/authtest"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
	"orderflow/internal/platform/web/webtest"
)

const (
	appToken = "app-token"
	prefix   = "t1."
)

// republisher records replays.
type republisher struct {
	mu     sync.Mutex
	topics []string
}

func (r *republisher) Republish(_ context.Context, topic string, _ []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.topics = append(r.topics, topic)
	return nil
}

type server struct {
	handler http.Handler
	records *kvfake.Store[deadletter.DeadLetter]
	pub     *republisher
	topics  []string
	issuer  *authtest.Issuer
}

func newServer(t *testing.T) server {
	t.Helper()
	e := webtest.NewEngine()
	iss := authtest.New(t)
	// An operator, unless a test sends its own Authorization header.
	s := server{handler: iss.As(t, e, "ops-1", "admin"), records: kvfake.New[deadletter.DeadLetter](), pub: &republisher{}, issuer: iss}
	svc := deadletter.NewService(s.records, kvfake.New[deadletter.Index](), s.pub, prefix, time.Now)
	events := subscriber.NewRouter(e, appToken, prefix)
	api.Register(e, events, svc, iss.Require())
	s.topics = events.Topics()
	return s
}

var sidecar = map[string]string{"Content-Type": "application/cloudevents+json", web.HeaderDaprAPIToken: appToken}

const placed = `{"specversion":"1.0","id":"o-1/order.placed","source":"orders","type":"orderflow.order.placed.v1",` +
	`"datacontenttype":"application/json","data":{"orderId":"o-1"},"topic":"t1.order.placed","pubsubname":"pubsub"}`

// deliver hands body to the dead-letter route of consumer, as the sidecar does, and returns the kept dead letter.
func (s server) deliver(t *testing.T, consumer, body string) api.DeadLetterView {
	t.Helper()
	rec := webtest.Call(s.handler, http.MethodPost, "/events/"+consumer+".deadletter", body, sidecar)
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"status":"SUCCESS"}`, rec.Body.String())
	for _, d := range s.list(t, "").DeadLetters {
		if d.Consumer == consumer {
			return d
		}
	}
	t.Fatalf("no dead letter of %s listed", consumer)
	return api.DeadLetterView{}
}

func (s server) list(t *testing.T, query string) api.PageView {
	t.Helper()
	rec := webtest.Call(s.handler, http.MethodGet, "/v1/deadletters"+query, "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var p api.PageView
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	return p
}

func TestRegisterServesEveryDeadLetterTopic(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	assert.Equal(t, []string{"t1.orders.deadletter", "t1.inventory.deadletter", "t1.payments.deadletter",
		"t1.shipping.deadletter", "t1.notifications.deadletter"}, s.topics)
}

func TestDeliveriesAreKeptAndNeverDropped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, consumer, body, parseError string
	}{
		{"a CloudEvent", "inventory", placed, ""},
		{"a body that is not JSON", "orders", "{not json", "the body is not JSON"},
		{"an empty body", "notifications", "", "the body is not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			d := s.deliver(t, tc.consumer, tc.body)
			assert.Equal(t, tc.consumer, d.Consumer)
			assert.Equal(t, deadletter.Pending, d.Status)
			assert.Equal(t, tc.parseError, d.ParseError)
		})
	}
}

func TestAStoreFailureAsksForRedelivery(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.records.FailNext(errors.New("connection refused"))
	rec := webtest.Call(s.handler, http.MethodPost, "/events/orders.deadletter", placed, sidecar)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"RETRY"}`, rec.Body.String())
}

func TestDeliveriesNeedTheAppToken(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	rec := webtest.Call(s.handler, http.MethodPost, "/events/orders.deadletter", placed, map[string]string{"Content-Type": "application/cloudevents+json"})
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Empty(t, s.records.Keys())
}

func TestShowReplayDiscard(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	d := s.deliver(t, "inventory", placed)

	rec := webtest.Call(s.handler, http.MethodGet, "/v1/deadletters/"+d.ID, "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	var shown api.DeadLetterView
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &shown))
	assert.JSONEq(t, placed, string(shown.Event), "show returns the original CloudEvent")
	assert.Equal(t, "t1.order.placed", shown.Topic)

	rec = webtest.Call(s.handler, http.MethodPost, "/v1/deadletters/"+d.ID+"/replay", "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"status":"replayed"`)
	assert.Equal(t, []string{"t1.order.placed"}, s.pub.topics)
	assert.Empty(t, s.list(t, "?status=pending").DeadLetters)
	assert.Len(t, s.list(t, "?status=replayed").DeadLetters, 1)

	rec = webtest.Call(s.handler, http.MethodPost, "/v1/deadletters/"+d.ID+"/discard", "", nil)
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"))

	other := s.deliver(t, "orders", placed)
	rec = webtest.Call(s.handler, http.MethodPost, "/v1/deadletters/"+other.ID+"/discard", "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"status":"discarded"`)
}

func TestBadRequestsGetProblemJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		status             int
		field              string
	}{
		{"unknown status", http.MethodGet, "/v1/deadletters?status=lost", http.StatusBadRequest, "status"},
		{"limit not a number", http.MethodGet, "/v1/deadletters?limit=ten", http.StatusBadRequest, "limit"},
		{"limit too large", http.MethodGet, "/v1/deadletters?limit=100000", http.StatusBadRequest, "limit"},
		{"cursor from nowhere", http.MethodGet, "/v1/deadletters?cursor=abc", http.StatusBadRequest, "cursor"},
		{"malformed id", http.MethodGet, "/v1/deadletters/not-an-id", http.StatusBadRequest, "id"},
		{"unknown id", http.MethodGet, "/v1/deadletters/" + strings.Repeat("0", 24), http.StatusNotFound, ""},
		{"replay of an unknown id", http.MethodPost, "/v1/deadletters/" + strings.Repeat("0", 24) + "/replay", http.StatusNotFound, ""},
		{"discard of a malformed id", http.MethodPost, "/v1/deadletters/x/discard", http.StatusBadRequest, "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := webtest.Call(newServer(t).handler, tc.method, tc.path, "", nil)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"))
			var p web.Problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, tc.field, p.Field)
			assert.NotEmpty(t, p.Detail)
			assert.NotContains(t, rec.Body.String(), "deadletter/", "no storage key in a response")
		})
	}
}

func TestAnUnreadableDeadLetterCannotBeReplayed(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	d := s.deliver(t, "payments", "\x00garbage")
	rec := webtest.Call(s.handler, http.MethodPost, "/v1/deadletters/"+d.ID+"/replay", "", nil)
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Contains(t, rec.Body.String(), "not a usable CloudEvent")
	assert.Empty(t, s.pub.topics)
}

func TestStoreFailuresHideTheirCause(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	d := s.deliver(t, "shipping", placed)
	s.records.FailNext(errors.New("dial tcp 10.1.2.3:6379: connection refused"))
	rec := webtest.Call(s.handler, http.MethodGet, "/v1/deadletters/"+d.ID, "", nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.NotContains(t, rec.Body.String(), "10.1.2.3")
}

// TestEveryOperationIsForOperators: dead letters hold customers' events, and a replay re-drives a saga.
func TestEveryOperationIsForOperators(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	d := s.deliver(t, "inventory", placed)
	const needsAdmin = `this operation requires the "admin" role`
	customer := s.issuer.Bearer(t, "c-42")
	none := map[string]string{"Authorization": ""}
	// Cleanup runs once the parallel subtests are done.
	t.Cleanup(func() {
		s.pub.mu.Lock()
		defer s.pub.mu.Unlock()
		assert.Empty(t, s.pub.topics, "nothing was replayed")
	})
	tests := []struct {
		name, method, path string
		headers            map[string]string
		want               webtest.Want
	}{
		{"list without a token", http.MethodGet, "/v1/deadletters", none, webtest.Want{Status: http.StatusUnauthorized, Detail: auth.DetailMissing}},
		{"list as a customer", http.MethodGet, "/v1/deadletters", customer, webtest.Want{Status: http.StatusForbidden, Detail: needsAdmin}},
		{"show as a customer", http.MethodGet, "/v1/deadletters/" + d.ID, customer, webtest.Want{Status: http.StatusForbidden, Detail: needsAdmin}},
		{"replay as a customer", http.MethodPost, "/v1/deadletters/" + d.ID + "/replay", customer, webtest.Want{Status: http.StatusForbidden, Detail: needsAdmin}},
		{"discard without a token", http.MethodPost, "/v1/deadletters/" + d.ID + "/discard", none, webtest.Want{Status: http.StatusUnauthorized, Detail: auth.DetailMissing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			webtest.Check(t, webtest.Call(s.handler, tc.method, tc.path, "", tc.headers), tc.want)
		})
	}
}
