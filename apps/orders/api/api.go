// Package api is the orders service's transport: the public HTTP API (gin) and the event routes the sidecar
// delivers to. It binds and validates input, calls the order domain, and maps errors; it holds no business
// rules.
package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"orderflow/apps/orders/order"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// OrderView is an order as the API shows it: no card token, no bookkeeping.
type OrderView struct {
	ID                string              `json:"id"`
	Status            order.Status        `json:"status"`
	CustomerID        string              `json:"customerId"`
	Email             string              `json:"email"`
	Items             []events.Item       `json:"items"`
	Lines             []events.PricedLine `json:"lines,omitempty"`
	TotalCents        *int64              `json:"totalCents,omitempty"`
	Currency          string              `json:"currency,omitempty"`
	Reason            string              `json:"reason,omitempty"`
	PaymentID         string              `json:"paymentId,omitempty"`
	Shipment          *order.Shipment     `json:"shipment,omitempty"`
	CancelRequestedAt *time.Time          `json:"cancelRequestedAt,omitempty"`
	StockReleasedAt   *time.Time          `json:"stockReleasedAt,omitempty"`
	RefundedAt        *time.Time          `json:"refundedAt,omitempty"`
	History           []order.Change      `json:"history"`
	CreatedAt         time.Time           `json:"createdAt"`
	UpdatedAt         time.Time           `json:"updatedAt"`
}

func view(o order.Order) OrderView {
	return OrderView{
		ID: o.ID, Status: o.Status, CustomerID: o.CustomerID, Email: o.Email, Items: o.Items,
		Lines: o.Lines, TotalCents: o.TotalCents, Currency: o.Currency, Reason: o.Reason,
		PaymentID: o.PaymentID, Shipment: o.Shipment, CancelRequestedAt: o.CancelRequestedAt,
		StockReleasedAt: o.StockReleasedAt, RefundedAt: o.RefundedAt, History: o.History,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

// Register mounts the public API on e and the event routes on r. slaBinding is the cron input binding's
// component name. authenticate (auth.Verifier.Require) guards every /v1 route: the token's subject is the
// customer, who sees and acts on their own orders only; the overdue listing is for operators (admin role).
// The event routes are the sidecar's, authenticated by the app API token instead (subscriber.Router).
func Register(e *gin.Engine, r *subscriber.Router, svc *order.Service, slaBinding string, authenticate gin.HandlerFunc) {
	h := handlers{svc: svc}
	v1 := e.Group("/v1", authenticate)
	v1.POST("/orders", h.place)
	v1.GET("/orders", h.list)
	v1.GET("/orders/overdue", auth.RequireRole("admin"), h.overdue)
	v1.GET("/orders/:id", h.get)
	v1.POST("/orders/:id/cancel", h.cancel)

	r.On(events.OrderPlaced, subscriber.Typed(svc.OnPlaced))
	r.On(events.OrderCancelRequested, subscriber.Typed(svc.OnCancelRequested))
	r.On(events.StockReserved, subscriber.Typed(svc.OnStockReserved))
	r.On(events.StockRejected, subscriber.Typed(svc.OnStockRejected))
	r.On(events.StockReleased, subscriber.Typed(svc.OnStockReleased))
	r.On(events.PaymentSucceeded, subscriber.Typed(svc.OnPaymentSucceeded))
	r.On(events.PaymentFailed, subscriber.Typed(svc.OnPaymentFailed))
	r.On(events.PaymentRefunded, subscriber.Typed(svc.OnPaymentRefunded))
	r.On(events.ShipmentDispatched, subscriber.Typed(svc.OnShipmentDispatched))
	r.On(events.ShipmentCancelled, subscriber.Typed(svc.OnShipmentCancelled))
	r.OnBinding(slaBinding, func(ctx context.Context) error {
		res, err := svc.Sweep(ctx)
		if res != (order.SweepResult{}) {
			log := logging.From(ctx).WithFields(logrus.Fields{
				"overdue": res.Overdue, "stuck": res.Stuck, "redriven": res.Redriven, "closed": res.Closed,
			})
			if res.Overdue > 0 {
				log.Warn("SLA sweep: orders past their SLA")
			} else {
				log.Info("SLA sweep")
			}
		}
		return err
	})
}

type handlers struct{ svc *order.Service }

// placeStatus answers POST /v1/orders. An order that was announced but not yet stored is placed all the same:
// 202 says so, and its Location finds it as soon as orders has stored it from its own order.placed (until then
// GET answers 404). Never a 5xx, which would make a client without an Idempotency-Key place it again.
var placeStatus = map[order.Placement]int{
	order.Created:   http.StatusCreated,
	order.Announced: http.StatusAccepted,
	order.Replayed:  http.StatusOK,
}

// customer is the authenticated caller's customer id: the token's subject. Register's middleware has put the
// principal there; without one (a wiring mistake) the request fails closed.
func customer(c *gin.Context) (string, bool) {
	p, ok := auth.FromGin(c)
	if !ok || p.Subject == "" {
		web.Error(c, apperr.New(apperr.Internal, "no authenticated caller"))
		return "", false
	}
	return p.Subject, true
}

// mustBeCaller checks a customerId the client sent (in the body or the query) against the caller's: it is
// kept for compatibility, and may only repeat the caller's own id.
func mustBeCaller(sent, caller string) error {
	if sent != "" && sent != caller {
		return &apperr.Error{Code: apperr.Forbidden, Field: "customerId",
			Message: "must be the authenticated customer's id (the bearer token's subject), or be left out"}
	}
	return nil
}

func (h handlers) place(c *gin.Context) {
	caller, ok := customer(c)
	if !ok {
		return
	}
	var cmd order.PlaceCommand
	if err := web.BindJSON(c, &cmd); err != nil {
		web.Error(c, err)
		return
	}
	if err := mustBeCaller(cmd.CustomerID, caller); err != nil {
		web.Error(c, err)
		return
	}
	cmd.CustomerID = caller
	cmd.IdempotencyKey = c.GetHeader("Idempotency-Key")
	o, placement, err := h.svc.Place(c.Request.Context(), cmd)
	if err != nil {
		web.Error(c, err)
		return
	}
	c.Header("Location", web.Location("v1", "orders", o.ID))
	c.JSON(placeStatus[placement], view(o))
}

func (h handlers) get(c *gin.Context) {
	caller, ok := customer(c)
	if !ok {
		return
	}
	o, err := h.svc.GetFor(c.Request.Context(), caller, c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(o))
}

// limitParam reads the limit query parameter; a value that is not a number is passed on as -1, for the
// domain to reject with the range it accepts.
func limitParam(c *gin.Context, def int) int {
	raw := c.Query("limit")
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return -1
	}
	return n
}

func (h handlers) list(c *gin.Context) {
	caller, ok := customer(c)
	if !ok {
		return
	}
	if err := mustBeCaller(c.Query("customerId"), caller); err != nil {
		web.Error(c, err)
		return
	}
	orders, err := h.svc.List(c.Request.Context(), caller, limitParam(c, 50))
	if err != nil {
		web.Error(c, err)
		return
	}
	out := make([]OrderView, len(orders))
	for i, o := range orders {
		out[i] = view(o)
	}
	c.JSON(http.StatusOK, gin.H{"orders": out})
}

func (h handlers) cancel(c *gin.Context) {
	caller, ok := customer(c)
	if !ok {
		return
	}
	o, err := h.svc.RequestCancel(c.Request.Context(), caller, c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusAccepted, view(o))
}

// OverdueView is an open order past the SLA, as the overdue listing shows it.
type OverdueView struct {
	ID        string       `json:"id"`
	Status    order.Status `json:"status"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	// AgeSeconds is the time since the order was placed, IdleSeconds the time since it last changed.
	AgeSeconds    int64      `json:"ageSeconds"`
	IdleSeconds   int64      `json:"idleSeconds"`
	Redrives      int        `json:"redrives"`
	LastRedriveAt *time.Time `json:"lastRedriveAt,omitempty"`
	Stuck         bool       `json:"stuck"`
}

// OverdueList is the answer of GET /v1/orders/overdue. The counts cover every overdue order, the list at most
// limit of them; until orderflow exports metrics, the counts are the SLA's metric.
type OverdueList struct {
	SLASeconds int64         `json:"slaSeconds"`
	Overdue    int           `json:"overdue"`
	Stuck      int           `json:"stuck"`
	Orders     []OverdueView `json:"orders"`
}

func (h handlers) overdue(c *gin.Context) {
	rep, err := h.svc.ListOverdue(c.Request.Context(), limitParam(c, 100))
	if err != nil {
		web.Error(c, err)
		return
	}
	out := OverdueList{SLASeconds: int64(rep.SLA / time.Second), Overdue: rep.Overdue, Stuck: rep.Stuck, Orders: make([]OverdueView, len(rep.Orders))}
	for i, d := range rep.Orders {
		out.Orders[i] = OverdueView{
			ID: d.Order.ID, Status: d.Order.Status, CreatedAt: d.Order.CreatedAt, UpdatedAt: d.Order.UpdatedAt,
			AgeSeconds: int64(d.Age / time.Second), IdleSeconds: int64(d.Idle / time.Second),
			Redrives: d.Redrives, LastRedriveAt: d.LastRedriveAt, Stuck: d.Stuck,
		}
	}
	c.JSON(http.StatusOK, out)
}
