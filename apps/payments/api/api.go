// Package api is the payments service's transport: the ledger read API and the event routes.
package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"orderflow/apps/payments/payment"
	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Register mounts the routes.
func Register(e *gin.Engine, r *subscriber.Router, svc *payment.Service) {
	e.GET("/v1/payments/:orderId", func(c *gin.Context) {
		p, err := svc.Get(c.Request.Context(), c.Param("orderId"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	})
	r.On(events.StockReserved, subscriber.Typed(svc.OnStockReserved))
	r.On(events.OrderCancelled, subscriber.Typed(svc.OnOrderCancelled))
}
