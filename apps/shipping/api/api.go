// Package api is the shipping service's transport: the shipment read API and the event routes.
package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"orderflow/apps/shipping/shipment"
	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Register mounts the routes.
func Register(e *gin.Engine, r *subscriber.Router, svc *shipment.Service) {
	h := handlers{svc: svc}
	e.GET("/v1/shipments/:orderId", h.get)
	r.On(events.PaymentSucceeded, subscriber.Typed(svc.OnPaymentSucceeded))
	r.On(events.OrderCancelRequested, subscriber.Typed(svc.OnCancelRequested))
	r.On(events.ReservationExpired, subscriber.Typed(svc.OnReservationExpired))
}

type handlers struct{ svc *shipment.Service }

// ShipmentView is shipping's decision for an order as the API shows it: the Shipment schema of
// docs/openapi.yaml. It is a type of its own so that a field added to the stored record is not published by
// accident.
type ShipmentView struct {
	OrderID        string          `json:"orderId"`
	Status         shipment.Status `json:"status"`
	ShipmentID     string          `json:"shipmentId,omitempty"`
	Carrier        string          `json:"carrier,omitempty"`
	TrackingNumber string          `json:"trackingNumber,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	At             time.Time       `json:"at"`
}

func view(sh shipment.Shipment) ShipmentView {
	return ShipmentView{OrderID: sh.OrderID, Status: sh.Status, ShipmentID: sh.ShipmentID, Carrier: sh.Carrier,
		TrackingNumber: sh.TrackingNumber, Reason: sh.Reason, At: sh.At}
}

func (h handlers) get(c *gin.Context) {
	sh, err := h.svc.Get(c.Request.Context(), c.Param("orderId"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(sh))
}
