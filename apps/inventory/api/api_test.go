package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/inventory/api"
	"orderflow/apps/inventory/stock"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/auth/authtest"
	"orderflow/internal/platform/eventstest"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web/webtest"
)

var now = time.Date(2026, 5, 1, 10, 15, 30, 0, time.UTC)

const widget = `{"name":"Widget","priceCents":1999,"available":10}`

func newServer(t *testing.T) (http.Handler, *stock.Service) {
	t.Helper()
	e := webtest.NewEngine()
	svc := stock.NewService(kvfake.New[stock.Product](), kvfake.New[stock.Reservation](), kvfake.New[stock.Catalog](),
		&eventstest.Publisher{}, 15*time.Minute, stock.DefaultOrphanGrace, func() time.Time { return now })
	iss := authtest.New(t)
	api.Register(e, subscriber.NewRouter(e, "", ""), svc, "reservation-expiry", iss.Require())
	// An operator, unless a test sends its own Authorization header.
	return iss.As(t, e, "ops-1", "admin"), svc
}

func TestInventoryAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	putWidget := func(t *testing.T, h http.Handler, _ *stock.Service) {
		require.Equal(t, http.StatusCreated, webtest.Call(h, http.MethodPut, "/v1/products/SKU-1", widget, nil).Code)
	}
	tests := []struct {
		name         string
		seed         func(t *testing.T, h http.Handler, svc *stock.Service)
		method       string
		path         string
		body         string
		wantStatus   int
		wantJSON     string // the whole body, for a success
		wantLocation string
		wantField    string // for a problem
		wantDetail   string // for a problem
	}{
		{name: "an empty catalog lists no products",
			method: http.MethodGet, path: "/v1/products", wantStatus: http.StatusOK, wantJSON: `{"products":[]}`},
		{name: "a new product is created",
			method: http.MethodPut, path: "/v1/products/SKU-1", body: widget, wantStatus: http.StatusCreated,
			wantLocation: "/v1/products/SKU-1",
			wantJSON:     `{"sku":"SKU-1","name":"Widget","priceCents":1999,"available":10,"reserved":0,"committed":0}`},
		{name: "an existing product is replaced",
			seed:   putWidget,
			method: http.MethodPut, path: "/v1/products/SKU-1", body: `{"name":"Widget 2","priceCents":2499,"available":3}`,
			wantStatus: http.StatusOK,
			wantJSON:   `{"sku":"SKU-1","name":"Widget 2","priceCents":2499,"available":3,"reserved":0,"committed":0}`},
		{name: "a product shows its stock but not its holds",
			seed: func(t *testing.T, h http.Handler, svc *stock.Service) {
				putWidget(t, h, svc)
				require.NoError(t, svc.OnOrderPlaced(ctx, "e-1", events.OrderPlacedData{OrderID: "o-1", CustomerID: "c-42",
					Items: []events.Item{{SKU: "SKU-1", Quantity: 2}}}))
			},
			method: http.MethodGet, path: "/v1/products/SKU-1", wantStatus: http.StatusOK,
			wantJSON: `{"sku":"SKU-1","name":"Widget","priceCents":1999,"available":8,"reserved":2,"committed":0}`},
		{name: "a reservation shows its lines and deadline",
			seed: func(t *testing.T, h http.Handler, svc *stock.Service) {
				putWidget(t, h, svc)
				require.NoError(t, svc.OnOrderPlaced(ctx, "e-1", events.OrderPlacedData{OrderID: "o-1", CustomerID: "c-42",
					Items: []events.Item{{SKU: "SKU-1", Quantity: 2}}}))
			},
			method: http.MethodGet, path: "/v1/reservations/o-1", wantStatus: http.StatusOK,
			wantJSON: `{"orderId":"o-1","status":"RESERVED","lines":[{"sku":"SKU-1","quantity":2}],
				"reservedAt":"2026-05-01T10:15:30Z","expiresAt":"2026-05-01T10:30:30Z","updatedAt":"2026-05-01T10:15:30Z"}`},
		{name: "an unknown product is a 404 problem",
			method: http.MethodGet, path: "/v1/products/SKU-404", wantStatus: http.StatusNotFound,
			wantDetail: "product SKU-404 not found"},
		{name: "an order without a reservation is a 404 problem",
			method: http.MethodGet, path: "/v1/reservations/o-404", wantStatus: http.StatusNotFound,
			wantDetail: "no reservation for order o-404"},
		{name: "an invalid SKU is a 400 problem naming it",
			method: http.MethodPut, path: "/v1/products/SKU%201", body: widget, wantStatus: http.StatusBadRequest,
			wantField: "sku", wantDetail: "must be 1-64 letters, digits or . _ -"},
		{name: "a negative price is a 400 problem naming it",
			method: http.MethodPut, path: "/v1/products/SKU-1", body: `{"name":"Widget","priceCents":-1,"available":1}`,
			wantStatus: http.StatusBadRequest, wantField: "priceCents", wantDetail: "must be between 0 and 100000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, svc := newServer(t)
			if tc.seed != nil {
				tc.seed(t, h, svc)
			}
			rec := webtest.Call(h, tc.method, tc.path, tc.body, nil)
			webtest.Check(t, rec, webtest.Want{Status: tc.wantStatus, JSON: tc.wantJSON, Field: tc.wantField, Detail: tc.wantDetail})
			if tc.wantDetail == "" {
				assert.Equal(t, tc.wantLocation, rec.Header().Get("Location"))
			}
		})
	}
}

// TestWhoMayDoWhat: the catalog is public, changing it and reading reservations is for operators.
func TestWhoMayDoWhat(t *testing.T) {
	t.Parallel()
	e := webtest.NewEngine()
	svc := stock.NewService(kvfake.New[stock.Product](), kvfake.New[stock.Reservation](), kvfake.New[stock.Catalog](),
		&eventstest.Publisher{}, 15*time.Minute, stock.DefaultOrphanGrace, func() time.Time { return now })
	iss := authtest.New(t)
	api.Register(e, subscriber.NewRouter(e, "", ""), svc, "reservation-expiry", iss.Require())
	customer, admin := iss.Bearer(t, "c-42"), iss.Bearer(t, "ops-1", "admin")
	const needsAdmin = `this operation requires the "admin" role`
	tests := []struct {
		name, method, path, body string
		headers                  map[string]string
		want                     int
		detail                   string
	}{
		{name: "anyone lists the catalog", method: http.MethodGet, path: "/v1/products", want: http.StatusOK},
		{name: "anyone reads a product", method: http.MethodGet, path: "/v1/products/SKU-0", want: http.StatusNotFound},
		{name: "a write without a token", method: http.MethodPut, path: "/v1/products/SKU-1", body: widget,
			want: http.StatusUnauthorized, detail: auth.DetailMissing},
		{name: "a customer's write", method: http.MethodPut, path: "/v1/products/SKU-1", body: widget, headers: customer,
			want: http.StatusForbidden, detail: needsAdmin},
		{name: "an operator's write", method: http.MethodPut, path: "/v1/products/SKU-2", body: widget, headers: admin,
			want: http.StatusCreated},
		{name: "a reservation without a token", method: http.MethodGet, path: "/v1/reservations/o-1",
			want: http.StatusUnauthorized, detail: auth.DetailMissing},
		{name: "a customer reading a reservation", method: http.MethodGet, path: "/v1/reservations/o-1", headers: customer,
			want: http.StatusForbidden, detail: needsAdmin},
		{name: "an operator reading a reservation", method: http.MethodGet, path: "/v1/reservations/o-1", headers: admin,
			want: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := webtest.Call(e, tc.method, tc.path, tc.body, tc.headers)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			if tc.detail != "" {
				webtest.Check(t, rec, webtest.Want{Status: tc.want, Detail: tc.detail})
			}
		})
	}
}
