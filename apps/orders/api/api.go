// Package api is the orders service's transport: the public HTTP API (gin) and the event routes the sidecar
// delivers to. It binds and validates input, calls the order domain, and maps errors; it holds no business
// rules.
package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"orderflow/apps/orders/order"
	"orderflow/internal/events"
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

// Register mounts the public API on e and the event routes on r.
func Register(e *gin.Engine, r *subscriber.Router, svc *order.Service) {
	h := handlers{svc: svc}
	v1 := e.Group("/v1")
	v1.POST("/orders", h.place)
	v1.GET("/orders", h.list)
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

func (h handlers) place(c *gin.Context) {
	var cmd order.PlaceCommand
	if err := web.BindJSON(c, &cmd); err != nil {
		web.Error(c, err)
		return
	}
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
	o, err := h.svc.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(o))
}

func (h handlers) list(c *gin.Context) {
	limit := 50
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			n = -1
		}
		limit = n
	}
	orders, err := h.svc.List(c.Request.Context(), c.Query("customerId"), limit)
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
	o, err := h.svc.RequestCancel(c.Request.Context(), c.Param("id"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusAccepted, view(o))
}
