package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orderflow/apps/notifications/api"
	"orderflow/apps/notifications/notify"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web/webtest"
)

var now = time.Date(2026, 5, 1, 10, 15, 30, 0, time.UTC)

// discardMailer sends every e-mail nowhere.
type discardMailer struct{}

func (discardMailer) Send(context.Context, notify.Email) error { return nil }

func newServer(t *testing.T) (http.Handler, *notify.Service) {
	t.Helper()
	e := webtest.NewEngine()
	svc := notify.NewService(kvfake.New[notify.Ledger](), discardMailer{}, func() time.Time { return now })
	api.Register(e, subscriber.NewRouter(e, "", ""), svc)
	return e, svc
}

func TestNotificationsAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		seed       func(t *testing.T, svc *notify.Service)
		method     string
		path       string
		body       string
		wantStatus int
		wantJSON   string // the whole body, for a success
		wantField  string // for a problem
		wantDetail string // for a problem
	}{
		{name: "a placed order lists its confirmation as sent",
			seed: func(t *testing.T, svc *notify.Service) {
				require.NoError(t, svc.OnPlaced(ctx, "e-1", events.OrderPlacedData{OrderID: "o-1", CustomerID: "c-42", Email: "ada@example.com"}))
			},
			method: http.MethodGet, path: "/v1/notifications?orderId=o-1", wantStatus: http.StatusOK,
			wantJSON: `{"notifications":[{"orderId":"o-1","event":"order.placed","to":"ada@example.com",
				"subject":"We received your order o-1","sentAt":"2026-05-01T10:15:30Z"}],"unsent":[]}`},
		{name: "an e-mail waiting for its recipient is listed unsent",
			seed: func(t *testing.T, svc *notify.Service) {
				require.NoError(t, svc.OnRejected(ctx, "e-1", events.StockRejectedData{OrderID: "o-1", Reason: "SKU-1 is not in the catalog"}))
			},
			method: http.MethodGet, path: "/v1/notifications?orderId=o-1", wantStatus: http.StatusOK,
			wantJSON: `{"notifications":[],"unsent":[{"event":"stock.rejected","state":"waiting_for_recipient"}]}`},
		{name: "an order notifications knows nothing about has two empty lists",
			method: http.MethodGet, path: "/v1/notifications?orderId=o-404", wantStatus: http.StatusOK,
			wantJSON: `{"notifications":[],"unsent":[]}`},
		{name: "a missing order id is a 400 problem naming it",
			method: http.MethodGet, path: "/v1/notifications", wantStatus: http.StatusBadRequest,
			wantField: "orderId", wantDetail: "is required"},
		{name: "an order id with a slash is a 400 problem naming it",
			method: http.MethodGet, path: "/v1/notifications?orderId=a%2Fb", wantStatus: http.StatusBadRequest,
			wantField: "orderId", wantDetail: "is required"},
		{name: "an unknown path is a 404 problem",
			method: http.MethodGet, path: "/v1/notifications/o-1", wantStatus: http.StatusNotFound,
			wantDetail: "no route for GET /v1/notifications/o-1"},
		{name: "a malformed event is dropped to the dead letters",
			method: http.MethodPost, path: subscriber.RoutePrefix + events.OrderPlaced.Topic, body: `{"id":`,
			wantStatus: http.StatusOK, wantJSON: `{"status":"DROP"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, svc := newServer(t)
			if tc.seed != nil {
				tc.seed(t, svc)
			}
			rec := webtest.Call(h, tc.method, tc.path, tc.body, nil)
			webtest.Check(t, rec, webtest.Want{Status: tc.wantStatus, JSON: tc.wantJSON, Field: tc.wantField, Detail: tc.wantDetail})
		})
	}
}
