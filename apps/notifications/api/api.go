// Package api is the notifications service's transport: the event routes the sidecar delivers to and a read
// endpoint over the per-order e-mail ledger.
package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"orderflow/apps/notifications/notify"
	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Register mounts the routes.
func Register(e *gin.Engine, r *subscriber.Router, svc *notify.Service) {
	e.GET("/v1/notifications", func(c *gin.Context) {
		sent, unsent, err := svc.History(c.Request.Context(), c.Query("orderId"))
		if err != nil {
			web.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"notifications": sent, "unsent": unsent})
	})
	r.On(events.OrderPlaced, subscriber.Typed(svc.OnPlaced))
	r.On(events.StockRejected, subscriber.Typed(svc.OnRejected))
	r.On(events.PaymentFailed, subscriber.Typed(svc.OnPaymentFailed))
	r.On(events.ShipmentDispatched, subscriber.Typed(svc.OnDispatched))
	r.On(events.OrderCancelled, subscriber.Typed(svc.OnCancelled))
	r.On(events.PaymentRefunded, subscriber.Typed(svc.OnRefunded))
}
