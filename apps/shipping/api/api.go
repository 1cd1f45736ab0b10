// Package api is the shipping service's transport: the shipment read API and the event routes.
package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"orderflow/apps/shipping/shipment"
	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Register mounts the routes.
func Register(e *gin.Engine, r *subscriber.Router, svc *shipment.Service) {
	e.GET("/v1/shipments/:orderId", func(c *gin.Context) {
		sh, err := svc.Get(c.Request.Context(), c.Param("orderId"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, sh)
	})
	r.On(events.PaymentSucceeded, subscriber.Typed(svc.OnPaymentSucceeded))
	r.On(events.OrderCancelRequested, subscriber.Typed(svc.OnCancelRequested))
	r.On(events.ReservationExpired, subscriber.Typed(svc.OnReservationExpired))
}
