// Package api is the inventory service's transport: the catalog API, the event routes and the expiry
// trigger the sidecar delivers to.
package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"orderflow/apps/inventory/stock"
	"orderflow/internal/events"
	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/logging"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Register mounts the routes. expiryBinding is the cron input binding's component name.
func Register(e *gin.Engine, r *subscriber.Router, svc *stock.Service, expiryBinding string, authenticate gin.HandlerFunc) {
	h := handlers{svc: svc}
	v1 := e.Group("/v1")
	// The catalog is what a shop shows anyone, so reading it needs no token. Changing it is for operators, and
	// so are reservations: they name orders, which only their customer may see (on orders' API).
	v1.GET("/products", h.list)
	v1.GET("/products/:sku", h.get)
	admin := v1.Group("", authenticate, auth.RequireRole("admin"))
	admin.PUT("/products/:sku", h.put)
	admin.GET("/reservations/:orderId", h.reservation)

	r.On(events.OrderPlaced, subscriber.Typed(svc.OnOrderPlaced))
	r.On(events.OrderCancelled, subscriber.Typed(svc.OnOrderCancelled))
	r.On(events.PaymentFailed, subscriber.Typed(svc.OnPaymentFailed))
	r.On(events.ShipmentDispatched, subscriber.Typed(svc.OnShipmentDispatched))
	r.OnBinding(expiryBinding, func(ctx context.Context) error {
		res, err := svc.Sweep(ctx)
		if res != (stock.SweepResult{}) {
			logging.From(ctx).WithFields(logrus.Fields{"expired": res.Expired, "reminded": res.Reminded, "orphaned": res.Orphaned}).
				Info("expiry sweep")
		}
		return err
	})
}

type handlers struct{ svc *stock.Service }

// ProductView is a product as the API shows it (holds are internal bookkeeping).
type ProductView struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int    `json:"available"`
	Reserved   int    `json:"reserved"`
	Committed  int    `json:"committed"`
}

func view(p stock.Product) ProductView {
	return ProductView{SKU: p.SKU, Name: p.Name, PriceCents: p.PriceCents, Available: p.Available, Reserved: p.Reserved, Committed: p.Committed}
}

func (h handlers) list(c *gin.Context) {
	products, err := h.svc.Products(c.Request.Context())
	if err != nil {
		web.Error(c, err)
		return
	}
	out := make([]ProductView, len(products))
	for i, p := range products {
		out[i] = view(p)
	}
	c.JSON(http.StatusOK, gin.H{"products": out})
}

func (h handlers) get(c *gin.Context) {
	p, err := h.svc.Product(c.Request.Context(), c.Param("sku"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(p))
}

func (h handlers) put(c *gin.Context) {
	var in stock.ProductInput
	if err := web.BindJSON(c, &in); err != nil {
		web.Error(c, err)
		return
	}
	p, created, err := h.svc.PutProduct(c.Request.Context(), c.Param("sku"), in)
	if err != nil {
		web.Error(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		c.Header("Location", web.Location("v1", "products", p.SKU))
	}
	c.JSON(status, view(p))
}

// ReservationView is inventory's record of an order as the API shows it (no payment details).
type ReservationView struct {
	OrderID    string        `json:"orderId"`
	Status     stock.Status  `json:"status"`
	Lines      []events.Item `json:"lines"`
	Reason     string        `json:"reason,omitempty"`
	ReservedAt *time.Time    `json:"reservedAt,omitempty"`
	ExpiresAt  *time.Time    `json:"expiresAt,omitempty"`
	UpdatedAt  time.Time     `json:"updatedAt"`
}

func (h handlers) reservation(c *gin.Context) {
	r, err := h.svc.Reservation(c.Request.Context(), c.Param("orderId"))
	if err != nil {
		web.Error(c, err)
		return
	}
	v := ReservationView{OrderID: r.OrderID, Status: r.Status, Lines: []events.Item{}, Reason: r.Reason, UpdatedAt: r.UpdatedAt}
	for _, l := range r.Lines {
		v.Lines = append(v.Lines, events.Item{SKU: l.SKU, Quantity: l.Quantity})
	}
	if !r.ReservedAt.IsZero() {
		v.ReservedAt, v.ExpiresAt = &r.ReservedAt, &r.ExpiresAt
	}
	c.JSON(http.StatusOK, v)
}
