// Package api is the notifications service's transport: the event routes the sidecar delivers to and a read
// endpoint over the per-order e-mail ledger.
package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"orderflow/apps/notifications/notify"
	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Register mounts the routes.
func Register(e *gin.Engine, r *subscriber.Router, svc *notify.Service) {
	h := handlers{svc: svc}
	e.GET("/v1/notifications", h.list)
	r.On(events.OrderPlaced, subscriber.Typed(svc.OnPlaced))
	r.On(events.StockRejected, subscriber.Typed(svc.OnRejected))
	r.On(events.PaymentFailed, subscriber.Typed(svc.OnPaymentFailed))
	r.On(events.ShipmentDispatched, subscriber.Typed(svc.OnDispatched))
	r.On(events.OrderCancelled, subscriber.Typed(svc.OnCancelled))
	r.On(events.PaymentRefunded, subscriber.Typed(svc.OnRefunded))
}

type handlers struct{ svc *notify.Service }

// NotificationView is one e-mail sent: the Notification schema of docs/openapi.yaml.
type NotificationView struct {
	OrderID string    `json:"orderId"`
	Event   string    `json:"event"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	SentAt  time.Time `json:"sentAt"`
}

// UnsentView is one e-mail recorded but not sent: the Unsent schema of docs/openapi.yaml.
type UnsentView struct {
	Event string           `json:"event"`
	State notify.MailState `json:"state"`
}

// HistoryView is the answer of GET /v1/notifications: both lists, each possibly empty but never null.
type HistoryView struct {
	Notifications []NotificationView `json:"notifications"`
	Unsent        []UnsentView       `json:"unsent"`
}

func (h handlers) list(c *gin.Context) {
	sent, unsent, err := h.svc.History(c.Request.Context(), c.Query("orderId"))
	if err != nil {
		web.Error(c, err)
		return
	}
	v := HistoryView{Notifications: make([]NotificationView, len(sent)), Unsent: make([]UnsentView, len(unsent))}
	for i, s := range sent {
		v.Notifications[i] = NotificationView{OrderID: s.OrderID, Event: s.Event, To: s.To, Subject: s.Subject, SentAt: s.SentAt}
	}
	for i, u := range unsent {
		v.Unsent[i] = UnsentView{Event: u.Event, State: u.State}
	}
	c.JSON(http.StatusOK, v)
}
