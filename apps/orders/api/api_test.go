package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/orders/api"
	"orderflow/apps/orders/order"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/auth/authtest"
	"orderflow/internal/platform/eventstest"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
	"orderflow/internal/platform/web/webtest"
)

const validBody = `{"customerId":"c-42","email":"ada@example.com","items":[{"sku":"SKU-1","quantity":2}],"payment":{"cardToken":"tok_visa"}}`

func newServer(t *testing.T) http.Handler {
	t.Helper()
	return newTestServer(t).handler
}

// testServer is the orders API over in-memory stores. Its handler authenticates requests that bring no
// Authorization header as customer c-42; admin is the header of an operator.
type testServer struct {
	handler http.Handler
	orders  *kvfake.Store[order.Order]
	pub     *eventstest.Publisher
	issuer  *authtest.Issuer
	admin   map[string]string
}

func newTestServer(t *testing.T) testServer {
	t.Helper()
	e := webtest.NewEngine()
	var n atomic.Int64
	iss := authtest.New(t)
	s := testServer{handler: iss.As(t, e, "c-42"), orders: kvfake.New[order.Order](), pub: &eventstest.Publisher{},
		issuer: iss, admin: iss.Bearer(t, "ops-1", "admin")}
	svc := order.NewService(s.orders, kvfake.New[order.Claim](), kvfake.New[order.CustomerIndex](),
		kvfake.New[order.OpenShard](), s.pub, time.Minute, time.Now, func() string { return fmt.Sprintf("o-%d", n.Add(1)) })
	api.Register(e, subscriber.NewRouter(e, "", ""), svc, "order-sla", iss.Require())
	return s
}

// deliverPlaced hands every published order.placed to the orders' own event route, as its sidecar does.
func (s testServer) deliverPlaced(t *testing.T) {
	t.Helper()
	for _, ev := range s.pub.Of(events.OrderPlaced) {
		env, err := events.Wrap(ev, "orders", "")
		require.NoError(t, err)
		body, err := json.Marshal(env)
		require.NoError(t, err)
		rec := webtest.Call(s.handler, http.MethodPost, subscriber.RoutePrefix+events.OrderPlaced.Topic, string(body),
			map[string]string{"Content-Type": "application/cloudevents+json"})
		require.Equal(t, http.StatusOK, rec.Code)
		require.JSONEq(t, `{"status":"SUCCESS"}`, rec.Body.String())
	}
}

func TestPlaceOrderAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantField  string
	}{
		{name: "valid order", body: validBody, wantStatus: http.StatusCreated},
		{name: "malformed JSON", body: `{"customerId":`, wantStatus: http.StatusBadRequest, wantField: "body"},
		{name: "empty body", body: ``, wantStatus: http.StatusBadRequest, wantField: "body"},
		{name: "unknown field", body: `{"customerId":"c","email":"a@b.co","items":[{"sku":"S","quantiy":1}],"payment":{"cardToken":"tok_visa"}}`,
			wantStatus: http.StatusBadRequest, wantField: "quantiy"},
		{name: "wrong type", body: `{"customerId":"c","email":"a@b.co","items":[{"sku":"S","quantity":"two"}],"payment":{"cardToken":"tok_visa"}}`,
			wantStatus: http.StatusBadRequest, wantField: "items.quantity"},
		{name: "business validation", body: `{"customerId":"c-42","email":"a@b.co","items":[],"payment":{"cardToken":"tok_visa"}}`,
			wantStatus: http.StatusBadRequest, wantField: "items"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := webtest.Call(newServer(t), http.MethodPost, "/v1/orders", tc.body, nil)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			if tc.wantField == "" {
				assert.Equal(t, "/v1/orders/o-1", rec.Header().Get("Location"))
				var v api.OrderView
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
				assert.Equal(t, order.Pending, v.Status)
				assert.NotContains(t, rec.Body.String(), "tok_visa", "the card token is never echoed")
				return
			}
			assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"))
			var p web.Problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, tc.wantField, p.Field)
			assert.Equal(t, tc.wantStatus, p.Status)
			assert.NotEmpty(t, p.RequestID)
		})
	}
}

// Hole 9: once order.placed is out, the order is placed. A failure to store it afterwards must not answer 5xx,
// or a client without an Idempotency-Key would place (and pay for) a second order: it answers 202 with the
// order's Location, which finds the order as soon as orders applies its own order.placed.
func TestPlaceAnswersForEveryAnnouncedOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fail        func(s testServer)
		wantStatus  int
		wantPlaced  int
		readableNow bool
	}{
		{name: "stored", fail: func(testServer) {}, wantStatus: http.StatusCreated, wantPlaced: 1, readableNow: true},
		{name: "store fails after announcing", fail: func(s testServer) { s.orders.FailNext(errors.New("state store down")) },
			wantStatus: http.StatusAccepted, wantPlaced: 1},
		{name: "announcing fails", fail: func(s testServer) { s.pub.FailNext(apperr.New(apperr.Unavailable, "broker down")) },
			wantStatus: http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			tc.fail(s)
			rec := webtest.Call(s.handler, http.MethodPost, "/v1/orders", validBody, nil)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			require.Len(t, s.pub.Of(events.OrderPlaced), tc.wantPlaced)
			if tc.wantPlaced == 0 {
				assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"), "not placed: safe to retry")
				assert.Empty(t, s.orders.Keys())
				return
			}
			assert.Equal(t, "/v1/orders/o-1", rec.Header().Get("Location"))
			var v api.OrderView
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
			assert.Equal(t, "o-1", v.ID)
			assert.Equal(t, order.Pending, v.Status)

			get := webtest.Call(s.handler, http.MethodGet, "/v1/orders/o-1", "", nil)
			if !tc.readableNow {
				assert.Equal(t, http.StatusNotFound, get.Code, "not stored until its event is applied")
			}
			s.deliverPlaced(t)
			get = webtest.Call(s.handler, http.MethodGet, "/v1/orders/o-1", "", nil)
			require.Equal(t, http.StatusOK, get.Code, get.Body.String())
			require.NoError(t, json.Unmarshal(get.Body.Bytes(), &v))
			assert.Equal(t, order.Pending, v.Status)
		})
	}
}

func TestIdempotencyKeyAPI(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	key := map[string]string{"Idempotency-Key": "abc"}
	first := webtest.Call(h, http.MethodPost, "/v1/orders", validBody, key)
	require.Equal(t, http.StatusCreated, first.Code)
	replay := webtest.Call(h, http.MethodPost, "/v1/orders", validBody, key)
	assert.Equal(t, http.StatusOK, replay.Code)
	assert.Equal(t, first.Header().Get("Location"), replay.Header().Get("Location"))
	other := bytes.Replace([]byte(validBody), []byte(`"quantity":2`), []byte(`"quantity":3`), 1)
	conflict := webtest.Call(h, http.MethodPost, "/v1/orders", string(other), key)
	assert.Equal(t, http.StatusConflict, conflict.Code)
	assert.Contains(t, conflict.Body.String(), "Idempotency-Key")
}

func TestReadAndCancelAPI(t *testing.T) {
	t.Parallel()
	h := newServer(t)
	require.Equal(t, http.StatusCreated, webtest.Call(h, http.MethodPost, "/v1/orders", validBody, nil).Code)
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"get existing", http.MethodGet, "/v1/orders/o-1", http.StatusOK},
		{"get unknown", http.MethodGet, "/v1/orders/nope", http.StatusNotFound},
		{"list by customer", http.MethodGet, "/v1/orders?customerId=c-42", http.StatusOK},
		{"list without customer", http.MethodGet, "/v1/orders", http.StatusOK},
		{"list with bad limit", http.MethodGet, "/v1/orders?customerId=c-42&limit=x", http.StatusBadRequest},
		{"cancel pending", http.MethodPost, "/v1/orders/o-1/cancel", http.StatusAccepted},
		{"cancel unknown", http.MethodPost, "/v1/orders/nope/cancel", http.StatusNotFound},
		{"unknown route", http.MethodGet, "/v2/nothing", http.StatusNotFound},
		{"wrong method", http.MethodDelete, "/v1/orders/o-1", http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := webtest.Call(h, tc.method, tc.path, "", nil)
			assert.Equal(t, tc.want, rec.Code, rec.Body.String())
		})
	}
}

// deliverStale hands orders' own event route an order.placed from long ago that nobody else saw, as if every
// other delivery of it had been lost: the stored order is past the SLA at once.
func (s testServer) deliverStale(t *testing.T, id string) {
	t.Helper()
	at := time.Now().Add(-time.Hour).UTC()
	env, err := events.Wrap(events.New(events.OrderPlaced, id, at, events.OrderPlacedData{
		OrderID: id, CustomerID: "c-42", Email: "ada@example.com",
		Items: []events.Item{{SKU: "SKU-1", Quantity: 1}}, Payment: events.PaymentMethod{CardToken: "tok_visa"}, PlacedAt: at,
	}), "orders", "")
	require.NoError(t, err)
	body, err := json.Marshal(env)
	require.NoError(t, err)
	rec := webtest.Call(s.handler, http.MethodPost, subscriber.RoutePrefix+events.OrderPlaced.Topic, string(body),
		map[string]string{"Content-Type": "application/cloudevents+json"})
	require.JSONEq(t, `{"status":"SUCCESS"}`, rec.Body.String())
}

func TestOverdueAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantListed int
	}{
		{name: "default limit", wantStatus: http.StatusOK, wantListed: 2},
		{name: "limited", query: "?limit=1", wantStatus: http.StatusOK, wantListed: 1},
		{name: "limit not a number", query: "?limit=x", wantStatus: http.StatusBadRequest},
		{name: "limit zero", query: "?limit=0", wantStatus: http.StatusBadRequest},
		{name: "limit too large", query: "?limit=501", wantStatus: http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			s.deliverStale(t, "stale-1")
			s.deliverStale(t, "stale-2")
			require.Equal(t, http.StatusCreated, webtest.Call(s.handler, http.MethodPost, "/v1/orders", validBody, nil).Code, "a fresh order is not overdue")

			rec := webtest.Call(s.handler, http.MethodGet, "/v1/orders/overdue"+tc.query, "", s.admin)
			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			if tc.wantStatus != http.StatusOK {
				assert.Equal(t, web.ProblemContentType, rec.Header().Get("Content-Type"))
				var p web.Problem
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
				assert.Equal(t, "limit", p.Field)
				return
			}
			var list api.OverdueList
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
			assert.Equal(t, 2, list.Overdue, "the counts cover every overdue order, whatever the limit")
			assert.Equal(t, int64(60), list.SLASeconds)
			require.Len(t, list.Orders, tc.wantListed)
			got := list.Orders[0]
			assert.Equal(t, "stale-1", got.ID)
			assert.Equal(t, order.Pending, got.Status)
			assert.GreaterOrEqual(t, got.AgeSeconds, int64(3600))
			assert.NotContains(t, rec.Body.String(), "open/", "no store keys in the answer")
		})
	}
}

func TestSLABindingRedrivesOverdueOrders(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	s.deliverStale(t, "stale-1")
	before := len(s.pub.Of(events.OrderPlaced))

	rec := webtest.Call(s.handler, http.MethodPost, "/order-sla", "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	placed := s.pub.Of(events.OrderPlaced)
	require.Len(t, placed, before+1, "the overdue order's order.placed is published again")
	assert.Equal(t, "stale-1/order.placed", placed[before].ID)
	var list api.OverdueList
	require.NoError(t, json.Unmarshal(webtest.Call(s.handler, http.MethodGet, "/v1/orders/overdue", "", s.admin).Body.Bytes(), &list))
	require.Len(t, list.Orders, 1)
	assert.Equal(t, 1, list.Orders[0].Redrives)
	assert.NotNil(t, list.Orders[0].LastRedriveAt)
}

// TestCustomersSeeAndActOnTheirOwnOrdersOnly: the token's subject is the customer. Another customer's order
// answers exactly like a missing one (404, not 403), so order ids cannot be probed; a customerId the client
// sends may only repeat its own.
func TestCustomersSeeAndActOnTheirOwnOrdersOnly(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	require.Equal(t, http.StatusCreated, webtest.Call(s.handler, http.MethodPost, "/v1/orders", validBody, nil).Code)
	other := s.issuer.Bearer(t, "c-7")
	const notFound = "order o-1 not found"
	forbidden := "must be the authenticated customer's id (the bearer token's subject), or be left out"
	// Cleanup runs once the parallel subtests are done.
	t.Cleanup(func() { assert.Empty(t, s.pub.Of(events.OrderCancelRequested), "nobody cancelled c-42's order") })
	tests := []struct {
		name, method, path, body string
		headers                  map[string]string
		want                     webtest.Want
	}{
		{name: "no token", method: http.MethodGet, path: "/v1/orders/o-1", headers: map[string]string{"Authorization": ""},
			want: webtest.Want{Status: http.StatusUnauthorized, Detail: auth.DetailMissing}},
		{name: "a token from another issuer", method: http.MethodGet, path: "/v1/orders/o-1",
			headers: authtest.New(t).Bearer(t, "c-42"), want: webtest.Want{Status: http.StatusUnauthorized, Detail: auth.DetailInvalid}},
		{name: "another customer's order", method: http.MethodGet, path: "/v1/orders/o-1", headers: other,
			want: webtest.Want{Status: http.StatusNotFound, Detail: notFound}},
		{name: "cancelling another customer's order", method: http.MethodPost, path: "/v1/orders/o-1/cancel", headers: other,
			want: webtest.Want{Status: http.StatusNotFound, Detail: notFound}},
		{name: "another customer's list is empty", method: http.MethodGet, path: "/v1/orders", headers: other,
			want: webtest.Want{Status: http.StatusOK, JSON: `{"orders":[]}`}},
		{name: "listing another customer's orders", method: http.MethodGet, path: "/v1/orders?customerId=c-42", headers: other,
			want: webtest.Want{Status: http.StatusForbidden, Field: "customerId", Detail: forbidden}},
		{name: "placing for another customer", method: http.MethodPost, path: "/v1/orders", headers: other, body: validBody,
			want: webtest.Want{Status: http.StatusForbidden, Field: "customerId", Detail: forbidden}},
		{name: "overdue needs the admin role", method: http.MethodGet, path: "/v1/orders/overdue",
			want: webtest.Want{Status: http.StatusForbidden, Detail: `this operation requires the "admin" role`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			webtest.Check(t, webtest.Call(s.handler, tc.method, tc.path, tc.body, tc.headers), tc.want)
		})
	}
}

func TestPlaceTakesTheCustomerFromTheToken(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	body := `{"email":"ada@example.com","items":[{"sku":"SKU-1","quantity":1}],"payment":{"cardToken":"tok_visa"}}`
	rec := webtest.Call(s.handler, http.MethodPost, "/v1/orders", body, s.issuer.Bearer(t, "c-9"))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	var v api.OrderView
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
	assert.Equal(t, "c-9", v.CustomerID)
}

// TestIdempotencyKeysAreScopedToTheCustomer: another customer's key is a fresh key, not a 409 that would say
// it exists.
func TestIdempotencyKeysAreScopedToTheCustomer(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	key := "shared-key"
	first := webtest.Call(s.handler, http.MethodPost, "/v1/orders", validBody, map[string]string{"Idempotency-Key": key})
	require.Equal(t, http.StatusCreated, first.Code, first.Body.String())
	headers := s.issuer.Bearer(t, "c-7")
	headers["Idempotency-Key"] = key
	body := `{"email":"eve@example.com","items":[{"sku":"SKU-1","quantity":5}],"payment":{"cardToken":"tok_visa"}}`
	second := webtest.Call(s.handler, http.MethodPost, "/v1/orders", body, headers)
	require.Equal(t, http.StatusCreated, second.Code, second.Body.String())
	assert.NotEqual(t, first.Header().Get("Location"), second.Header().Get("Location"))
}
