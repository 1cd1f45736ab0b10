// Package api is the payments service's transport: the ledger read API and the event routes.
package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"orderflow/apps/payments/payment"
	"orderflow/internal/events"
	"orderflow/internal/platform/subscriber"
	"orderflow/internal/platform/web"
)

// Register mounts the routes.
func Register(e *gin.Engine, r *subscriber.Router, svc *payment.Service) {
	h := handlers{svc: svc}
	e.GET("/v1/payments/:orderId", h.get)
	r.On(events.StockReserved, subscriber.Typed(svc.OnStockReserved))
	r.On(events.OrderCancelled, subscriber.Typed(svc.OnOrderCancelled))
}

type handlers struct{ svc *payment.Service }

// PaymentView is an order's ledger record as the API shows it: the Payment schema of docs/openapi.yaml. It is
// a type of its own so that a field added to the stored record is not published by accident.
type PaymentView struct {
	OrderID        string         `json:"orderId"`
	CustomerID     string         `json:"customerId,omitempty"`
	Status         payment.Status `json:"status"`
	AmountCents    int64          `json:"amountCents"`
	Currency       string         `json:"currency"`
	IdempotencyKey string         `json:"idempotencyKey,omitempty"`
	PaymentID      string         `json:"paymentId,omitempty"`
	RefundID       string         `json:"refundId,omitempty"`
	FailureCode    string         `json:"failureCode,omitempty"`
	FailureReason  string         `json:"failureReason,omitempty"`
	CancelReason   string         `json:"cancelReason,omitempty"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
}

func view(p payment.Payment) PaymentView {
	return PaymentView{
		OrderID: p.OrderID, CustomerID: p.CustomerID, Status: p.Status, AmountCents: p.AmountCents, Currency: p.Currency,
		IdempotencyKey: p.IdempotencyKey, PaymentID: p.PaymentID, RefundID: p.RefundID, FailureCode: p.FailureCode,
		FailureReason: p.FailureReason, CancelReason: p.CancelReason, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func (h handlers) get(c *gin.Context) {
	p, err := h.svc.Get(c.Request.Context(), c.Param("orderId"))
	if err != nil {
		web.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, view(p))
}
