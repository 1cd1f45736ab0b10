package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orderflow/apps/payments/api"
	"orderflow/apps/payments/payment"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/eventstest"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web/webtest"
)

var now = time.Date(2026, 5, 1, 10, 15, 30, 0, time.UTC)

// approvingProvider approves every charge and refund.
type approvingProvider struct{}

func (approvingProvider) Charge(context.Context, payment.ChargeRequest) (payment.ChargeResult, error) {
	return payment.ChargeResult{ChargeID: "ch_1", Approved: true}, nil
}

func (approvingProvider) FindCharge(context.Context, string) (payment.ChargeResult, error) {
	return payment.ChargeResult{}, payment.ErrNoSuchCharge
}

func (approvingProvider) Refund(context.Context, payment.RefundRequest) (string, error) {
	return "re_1", nil
}

func newServer(t *testing.T) (http.Handler, *payment.Service) {
	t.Helper()
	e := webtest.NewEngine()
	svc := payment.NewService(kvfake.New[payment.Payment](), approvingProvider{}, &eventstest.Publisher{}, func() time.Time { return now })
	api.Register(e, subscriber.NewRouter(e, "", ""), svc)
	return e, svc
}

func TestPaymentAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		seed       func(t *testing.T, svc *payment.Service)
		method     string
		path       string
		body       string
		wantStatus int
		wantJSON   string // the whole body, for a success
		wantDetail string // for a problem
	}{
		{name: "a charged order shows its ledger record",
			seed: func(t *testing.T, svc *payment.Service) {
				require.NoError(t, svc.OnStockReserved(ctx, "e-1", events.StockReservedData{
					OrderID: "o-1", CustomerID: "c-42", TotalCents: 3998, Currency: "USD",
					Payment: events.PaymentMethod{CardToken: "tok_visa"},
				}))
			},
			method: http.MethodGet, path: "/v1/payments/o-1", wantStatus: http.StatusOK,
			wantJSON: `{"orderId":"o-1","customerId":"c-42","status":"CHARGED","amountCents":3998,"currency":"USD",
				"idempotencyKey":"o-1","paymentId":"ch_1","createdAt":"2026-05-01T10:15:30Z","updatedAt":"2026-05-01T10:15:30Z"}`},
		{name: "an order stopped before payment shows a voided record",
			seed: func(t *testing.T, svc *payment.Service) {
				require.NoError(t, svc.OnOrderCancelled(ctx, "e-1", events.OrderCancelledData{OrderID: "o-1", Reason: "customer_request"}))
			},
			method: http.MethodGet, path: "/v1/payments/o-1", wantStatus: http.StatusOK,
			wantJSON: `{"orderId":"o-1","status":"VOIDED","amountCents":0,"currency":"",
				"failureReason":"order stopped before payment: customer_request","createdAt":"2026-05-01T10:15:30Z","updatedAt":"2026-05-01T10:15:30Z"}`},
		{name: "an order without a payment is a 404 problem",
			method: http.MethodGet, path: "/v1/payments/o-404", wantStatus: http.StatusNotFound,
			wantDetail: "no payment for order o-404"},
		{name: "a write to the read API is a 405 problem",
			method: http.MethodPost, path: "/v1/payments/o-1", wantStatus: http.StatusMethodNotAllowed,
			wantDetail: "method POST not allowed on /v1/payments/o-1"},
		{name: "a malformed event is dropped to the dead letters",
			method: http.MethodPost, path: subscriber.RoutePrefix + events.StockReserved.Topic, body: `{"id":`,
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
