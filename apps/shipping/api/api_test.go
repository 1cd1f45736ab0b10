package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orderflow/apps/shipping/api"
	"orderflow/apps/shipping/shipment"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web/webtest"
)

var now = time.Date(2026, 5, 1, 10, 15, 30, 0, time.UTC)

// discardLabels accepts every label.
type discardLabels struct{}

func (discardLabels) Put(context.Context, shipment.Label) error { return nil }

func newServer(t *testing.T) (http.Handler, *shipment.Service) {
	t.Helper()
	e := webtest.NewEngine()
	svc := shipment.NewService(kvfake.New[shipment.Shipment](), discardLabels{}, &eventstest.Publisher{}, "Acme Parcel",
		func() time.Time { return now })
	api.Register(e, subscriber.NewRouter(e, "", ""), svc)
	return e, svc
}

func TestShipmentAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		seed       func(t *testing.T, svc *shipment.Service)
		method     string
		path       string
		body       string
		wantStatus int
		wantJSON   string // the whole body, for a success
		wantDetail string // for a problem
	}{
		{name: "a paid order shows its dispatch",
			seed: func(t *testing.T, svc *shipment.Service) {
				require.NoError(t, svc.OnPaymentSucceeded(ctx, "e-1", events.PaymentSucceededData{OrderID: "o-1", CustomerID: "c-42"}))
			},
			method: http.MethodGet, path: "/v1/shipments/o-1", wantStatus: http.StatusOK,
			wantJSON: `{"orderId":"o-1","status":"DISPATCHED","shipmentId":"shp_80ce7a9543fb50f0","carrier":"Acme Parcel",
				"trackingNumber":"OFAFBC0BE3FF70","at":"2026-05-01T10:15:30Z"}`},
		{name: "a stopped order shows why it will not ship",
			seed: func(t *testing.T, svc *shipment.Service) {
				require.NoError(t, svc.OnCancelRequested(ctx, "e-1", events.OrderCancelRequestedData{OrderID: "o-1"}))
			},
			method: http.MethodGet, path: "/v1/shipments/o-1", wantStatus: http.StatusOK,
			wantJSON: `{"orderId":"o-1","status":"CANCELLED","reason":"customer_request","at":"2026-05-01T10:15:30Z"}`},
		{name: "an order shipping has not decided is a 404 problem",
			method: http.MethodGet, path: "/v1/shipments/o-404", wantStatus: http.StatusNotFound,
			wantDetail: "no shipment for order o-404"},
		{name: "a write to the read API is a 405 problem",
			method: http.MethodDelete, path: "/v1/shipments/o-1", wantStatus: http.StatusMethodNotAllowed,
			wantDetail: "method DELETE not allowed on /v1/shipments/o-1"},
		{name: "a malformed event is dropped to the dead letters",
			method: http.MethodPost, path: subscriber.RoutePrefix + events.PaymentSucceeded.Topic, body: `{"id":`,
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
			webtest.Check(t, rec, webtest.Want{Status: tc.wantStatus, JSON: tc.wantJSON, Field: "", Detail: tc.wantDetail})
		})
	}
}
