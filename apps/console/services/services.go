// Package services is the console's adapter onto the other services' public APIs, which it reaches only
// through Dapr service invocation (daprx.ServiceInvoker), never their stores. Calls that act for the person
// logged in carry that person's bearer token, so each service's own authorization decides: a customer gets
// their own orders, operators' routes want the admin role.
//
// The types here are the console's reading of the contract in docs/openapi.yaml: the fields it shows, and no
// more (a field a service adds does not break it).
package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/platform/daprx"
)

// Invoker is the service invocation the client needs (daprx.ServiceInvoker).
type Invoker interface {
	Invoke(ctx context.Context, c daprx.Call) (daprx.Answer, error)
}

// Apps are the app ids the console calls (the Dapr app ids of the services).
type Apps struct {
	Orders        string `env:"ORDERS_APP_ID" envDefault:"orders"`
	Inventory     string `env:"INVENTORY_APP_ID" envDefault:"inventory"`
	Payments      string `env:"PAYMENTS_APP_ID" envDefault:"payments"`
	Shipping      string `env:"SHIPPING_APP_ID" envDefault:"shipping"`
	Notifications string `env:"NOTIFICATIONS_APP_ID" envDefault:"notifications"`
	Deadletters   string `env:"DEADLETTERS_APP_ID" envDefault:"deadletters"`
}

// All lists the services by their names in the saga, each with its app id.
func (a Apps) All() []App {
	return []App{{"orders", a.Orders}, {"inventory", a.Inventory}, {"payments", a.Payments}, {"shipping", a.Shipping},
		{"notifications", a.Notifications}, {"deadletters", a.Deadletters}}
}

// App is one service: its name in the saga and the app id it runs under.
type App struct {
	Name string
	ID   string
}

// Client calls the services.
type Client struct {
	inv  Invoker
	apps Apps
}

// New returns a client that reaches apps through inv.
func New(inv Invoker, apps Apps) *Client { return &Client{inv: inv, apps: apps} }

// Problem is a service's refusal: the status and the problem document it answered (RFC 9457).
type Problem struct {
	App    string
	Status int
	Detail string
	Field  string
}

func (p *Problem) Error() string {
	if p.Field != "" {
		return fmt.Sprintf("%s answered %d: %s: %s", p.App, p.Status, p.Field, p.Detail)
	}
	return fmt.Sprintf("%s answered %d: %s", p.App, p.Status, p.Detail)
}

// Code maps the status to the console's error codes, so a page answers as the service did.
func (p *Problem) Code() apperr.Code {
	switch {
	case p.Status == http.StatusNotFound:
		return apperr.NotFound
	case p.Status == http.StatusForbidden || p.Status == http.StatusUnauthorized:
		return apperr.Forbidden
	case p.Status == http.StatusConflict:
		return apperr.Conflict
	case p.Status >= 400 && p.Status < 500:
		return apperr.Invalid
	case p.Status == http.StatusServiceUnavailable:
		return apperr.Unavailable
	}
	return apperr.Internal
}

// AsProblem returns the service's refusal err carries, if it is one.
func AsProblem(err error) (*Problem, bool) {
	var p *Problem
	ok := errors.As(err, &p)
	return p, ok
}

// request is one call; token is the caller's bearer token ("" for public routes).
type request struct {
	app, method, path, token, idempotencyKey string
	query                                    url.Values
	body                                     any
}

// send sends r and returns the app's answer, whatever its status.
func (c *Client) send(ctx context.Context, r request) (daprx.Answer, error) {
	call := daprx.Call{App: r.app, Method: r.method, Path: r.path, Query: r.query, Header: http.Header{"Accept": {"application/json"}}}
	if r.token != "" {
		call.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.idempotencyKey != "" {
		call.Header.Set("Idempotency-Key", r.idempotencyKey)
	}
	if r.body != nil {
		raw, err := json.Marshal(r.body)
		if err != nil {
			return daprx.Answer{}, fmt.Errorf("encoding the request to %s: %w", r.app, err)
		}
		call.Body = raw
		call.Header.Set("Content-Type", "application/json")
	}
	return c.inv.Invoke(ctx, call)
}

// do sends r and decodes a 2xx answer into out (when not nil); any other status is a *Problem.
func (c *Client) do(ctx context.Context, r request, out any) error {
	ans, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	if ans.Status < 200 || ans.Status > 299 {
		p := &Problem{App: r.app, Status: ans.Status}
		var doc struct {
			Detail string `json:"detail"`
			Field  string `json:"field"`
		}
		if json.Unmarshal(ans.Body, &doc) == nil {
			p.Detail, p.Field = doc.Detail, doc.Field
		}
		if p.Detail == "" {
			p.Detail = http.StatusText(ans.Status)
		}
		return p
	}
	if out != nil {
		if err := json.Unmarshal(ans.Body, out); err != nil {
			return apperr.Wrap(apperr.Internal, err, "%s %s on %s answered something that is not the expected JSON", r.method, r.path, r.app)
		}
	}
	return nil
}

// Product is one SKU of the catalog with its stock.
type Product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int    `json:"available"`
	Reserved   int    `json:"reserved"`
	Committed  int    `json:"committed"`
}

// Products is inventory's catalog (public: no token).
func (c *Client) Products(ctx context.Context) ([]Product, error) {
	var body struct {
		Products []Product `json:"products"`
	}
	err := c.do(ctx, request{app: c.apps.Inventory, method: http.MethodGet, path: "/v1/products"}, &body)
	return body.Products, err
}

// PlaceRequest is the body of POST /v1/orders.
type PlaceRequest struct {
	Email   string               `json:"email"`
	Items   []events.Item        `json:"items"`
	Payment events.PaymentMethod `json:"payment"`
}

// Order is an order as orders shows it to its customer.
type Order struct {
	ID                string              `json:"id"`
	Status            string              `json:"status"`
	CustomerID        string              `json:"customerId"`
	Email             string              `json:"email"`
	Items             []events.Item       `json:"items"`
	Lines             []events.PricedLine `json:"lines"`
	TotalCents        *int64              `json:"totalCents"`
	Reason            string              `json:"reason"`
	CancelRequestedAt *time.Time          `json:"cancelRequestedAt"`
	History           []struct {
		Status string    `json:"status"`
		At     time.Time `json:"at"`
		Reason string    `json:"reason"`
	} `json:"history"`
	CreatedAt time.Time `json:"createdAt"`
}

// PlaceOrder places an order as the token's customer, under an Idempotency-Key, so a form sent twice places it
// once.
func (c *Client) PlaceOrder(ctx context.Context, token, idempotencyKey string, body PlaceRequest) (Order, error) {
	var o Order
	err := c.do(ctx, request{app: c.apps.Orders, method: http.MethodPost, path: "/v1/orders", token: token,
		idempotencyKey: idempotencyKey, body: body}, &o)
	return o, err
}

// Order is one of the token's customer's orders (another customer's answers 404, as orders decides).
func (c *Client) Order(ctx context.Context, token, id string) (Order, error) {
	var o Order
	err := c.do(ctx, request{app: c.apps.Orders, method: http.MethodGet, path: "/v1/orders/" + url.PathEscape(id), token: token}, &o)
	return o, err
}

// CancelOrder asks orders to cancel one of the token's customer's orders.
func (c *Client) CancelOrder(ctx context.Context, token, id string) error {
	err := c.do(ctx, request{app: c.apps.Orders, method: http.MethodPost, path: "/v1/orders/" + url.PathEscape(id) + "/cancel", token: token}, nil)
	return err
}

// Overdue is orders' list of open orders past their SLA (admin).
type Overdue struct {
	SLASeconds int64 `json:"slaSeconds"`
	Overdue    int   `json:"overdue"`
	Stuck      int   `json:"stuck"`
	Orders     []struct {
		ID          string    `json:"id"`
		Status      string    `json:"status"`
		CreatedAt   time.Time `json:"createdAt"`
		IdleSeconds int64     `json:"idleSeconds"`
		Redrives    int       `json:"redrives"`
		Stuck       bool      `json:"stuck"`
	} `json:"orders"`
}

// Overdue lists the orders past their SLA.
func (c *Client) Overdue(ctx context.Context, token string) (Overdue, error) {
	var o Overdue
	err := c.do(ctx, request{app: c.apps.Orders, method: http.MethodGet, path: "/v1/orders/overdue", token: token}, &o)
	return o, err
}

// Payment is payments' ledger record of an order.
type Payment struct {
	Status        string    `json:"status"`
	AmountCents   int64     `json:"amountCents"`
	Currency      string    `json:"currency"`
	PaymentID     string    `json:"paymentId"`
	RefundID      string    `json:"refundId"`
	FailureCode   string    `json:"failureCode"`
	FailureReason string    `json:"failureReason"`
	CancelReason  string    `json:"cancelReason"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Payment reads an order's payment.
func (c *Client) Payment(ctx context.Context, orderID string) (Payment, error) {
	var p Payment
	err := c.do(ctx, request{app: c.apps.Payments, method: http.MethodGet, path: "/v1/payments/" + url.PathEscape(orderID)}, &p)
	return p, err
}

// Shipment is shipping's decision for an order.
type Shipment struct {
	Status         string    `json:"status"`
	ShipmentID     string    `json:"shipmentId"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"trackingNumber"`
	Reason         string    `json:"reason"`
	At             time.Time `json:"at"`
}

// Shipment reads an order's shipment.
func (c *Client) Shipment(ctx context.Context, orderID string) (Shipment, error) {
	var s Shipment
	err := c.do(ctx, request{app: c.apps.Shipping, method: http.MethodGet, path: "/v1/shipments/" + url.PathEscape(orderID)}, &s)
	return s, err
}

// Mail is what notifications knows of an order's e-mails.
type Mail struct {
	Notifications []struct {
		Event   string    `json:"event"`
		To      string    `json:"to"`
		Subject string    `json:"subject"`
		SentAt  time.Time `json:"sentAt"`
	} `json:"notifications"`
	Unsent []struct {
		Event string `json:"event"`
		State string `json:"state"`
	} `json:"unsent"`
}

// Mail reads an order's e-mails.
func (c *Client) Mail(ctx context.Context, orderID string) (Mail, error) {
	var m Mail
	err := c.do(ctx, request{app: c.apps.Notifications, method: http.MethodGet, path: "/v1/notifications",
		query: url.Values{"orderId": {orderID}}}, &m)
	return m, err
}

// DeadLetter is one dead letter kept by deadletters.
type DeadLetter struct {
	ID              string          `json:"id"`
	Status          string          `json:"status"`
	Consumer        string          `json:"consumer"`
	DeadLetterTopic string          `json:"deadLetterTopic"`
	Topic           string          `json:"topic"`
	EventID         string          `json:"eventId"`
	EventType       string          `json:"eventType"`
	Source          string          `json:"source"`
	Subject         string          `json:"subject"`
	TraceParent     string          `json:"traceparent"`
	Event           json.RawMessage `json:"event"`
	Raw             []byte          `json:"raw"`
	ParseError      string          `json:"parseError"`
	ArrivedAt       time.Time       `json:"arrivedAt"`
	LastArrivedAt   time.Time       `json:"lastArrivedAt"`
	Arrivals        int             `json:"arrivals"`
	Replays         int             `json:"replays"`
	ReplayedAt      *time.Time      `json:"replayedAt"`
	DiscardedAt     *time.Time      `json:"discardedAt"`
}

// DeadLetterPage is one page of dead letters; Next continues it.
type DeadLetterPage struct {
	DeadLetters []DeadLetter `json:"deadLetters"`
	Next        string       `json:"next"`
}

// DeadLetters lists dead letters of a status ("" for all), newest first (admin).
func (c *Client) DeadLetters(ctx context.Context, token, status, cursor string) (DeadLetterPage, error) {
	q := url.Values{"limit": {"50"}}
	if status != "" {
		q.Set("status", status)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var p DeadLetterPage
	err := c.do(ctx, request{app: c.apps.Deadletters, method: http.MethodGet, path: "/v1/deadletters", token: token, query: q}, &p)
	return p, err
}

// DeadLetter reads one dead letter with its event (admin).
func (c *Client) DeadLetter(ctx context.Context, token, id string) (DeadLetter, error) {
	var d DeadLetter
	err := c.do(ctx, request{app: c.apps.Deadletters, method: http.MethodGet, path: "/v1/deadletters/" + url.PathEscape(id), token: token}, &d)
	return d, err
}

// Actions on a dead letter.
const (
	Replay  = "replay"
	Discard = "discard"
)

// ActOnDeadLetter replays or discards a dead letter (admin).
func (c *Client) ActOnDeadLetter(ctx context.Context, token, id, action string) (DeadLetter, error) {
	if action != Replay && action != Discard {
		return DeadLetter{}, apperr.Invalidf("action", "must be %s or %s", Replay, Discard)
	}
	var d DeadLetter
	err := c.do(ctx, request{app: c.apps.Deadletters, method: http.MethodPost,
		path: "/v1/deadletters/" + url.PathEscape(id) + "/" + action, token: token}, &d)
	return d, err
}

// Readiness is what one app's public /readyz says: ready or not, and which checks hold. The reasons a check
// fails are on the app's ops port only, which the console does not reach (see docs/console.md).
type Readiness struct {
	App       App
	Reachable bool
	Ready     bool
	// Error says why the app could not be asked (its sidecar or the app does not answer); empty when it
	// answered.
	Error  string
	Checks []Check
}

// Check is one readiness condition.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
}

// Readiness asks app's /readyz through the sidecars. An answer proves the way there works: the console's
// sidecar, the app's sidecar (invocation goes through it) and the app.
func (c *Client) Readiness(ctx context.Context, app App) Readiness {
	r := Readiness{App: app}
	ans, err := c.send(ctx, request{app: app.ID, method: http.MethodGet, path: "/readyz"})
	if err != nil {
		r.Error = firstLine(err.Error())
		return r
	}
	var body struct {
		Checks []Check `json:"checks"`
	}
	// 503 (not ready) lists the checks too.
	if (ans.Status != http.StatusOK && ans.Status != http.StatusServiceUnavailable) || json.Unmarshal(ans.Body, &body) != nil {
		r.Error = fmt.Sprintf("its /readyz answered %d without the list of checks", ans.Status)
		return r
	}
	r.Reachable, r.Ready, r.Checks = true, ans.Status == http.StatusOK, body.Checks
	return r
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
