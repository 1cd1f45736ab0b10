// Package notify is the notifications service's domain: which order events become which e-mails, and the
// sent-notification log that guarantees one e-mail per (order, event) under at-least-once delivery.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/settle"
)

// Recipient is who hears about an order, learnt from order.placed.
type Recipient struct {
	OrderID    string `json:"orderId"`
	CustomerID string `json:"customerId"`
	Email      string `json:"email"`
}

// Sent is one entry of the sent-notification log.
type Sent struct {
	OrderID string    `json:"orderId"`
	Event   string    `json:"event"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	SentAt  time.Time `json:"sentAt"`
}

// Email is a message to deliver. ID is deterministic per (order, event): a re-send after a crash produces the
// same message, and mailers that support it use it to deduplicate.
type Email struct {
	ID      string
	To      string
	Subject string
	Body    string
}

// RecipientStore persists recipients.
type RecipientStore interface {
	Get(ctx context.Context, key string) (Recipient, string, error)
	Create(ctx context.Context, key string, r Recipient, opts ...kv.WriteOption) error
}

// SentStore persists the sent log.
type SentStore interface {
	Get(ctx context.Context, key string) (Sent, string, error)
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[Sent], error)
	Create(ctx context.Context, key string, s Sent, opts ...kv.WriteOption) error
}

// Mailer delivers e-mail (the email output binding).
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// Service sends the order e-mails.
type Service struct {
	recipients RecipientStore
	sent       SentStore
	mailer     Mailer
	now        func() time.Time
}

// NewService wires the service to its ports.
func NewService(recipients RecipientStore, sent SentStore, mailer Mailer, now func() time.Time) *Service {
	return &Service{recipients: recipients, sent: sent, mailer: mailer, now: now}
}

func recipientKey(orderID string) string           { return "recipient/" + orderID }
func sentKey(orderID string, k events.Kind) string { return "sent/" + orderID + "/" + k.Topic }

// Notified lists the kinds of event that produce an e-mail, in saga order.
var Notified = []events.Kind{
	events.OrderPlaced, events.StockRejected, events.PaymentFailed, events.ShipmentDispatched,
	events.OrderCancelled, events.PaymentRefunded,
}

// OnPlaced remembers the recipient and confirms the order.
func (s *Service) OnPlaced(ctx context.Context, _ string, d events.OrderPlacedData) error {
	r := Recipient{OrderID: d.OrderID, CustomerID: d.CustomerID, Email: d.Email}
	if err := s.recipients.Create(ctx, recipientKey(d.OrderID), r); err != nil && !errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("remembering recipient: %w", err)
	}
	return s.send(ctx, r, events.OrderPlaced,
		"We received your order "+d.OrderID,
		fmt.Sprintf("Hello %s,\n\nthank you for your order %s (%d item lines). We will write again when it ships.\n",
			d.CustomerID, d.OrderID, len(d.Items)))
}

// OnRejected tells the customer the order could not be reserved.
func (s *Service) OnRejected(ctx context.Context, _ string, d events.StockRejectedData) error {
	return s.notify(ctx, d.OrderID, events.StockRejected,
		"We could not accept your order "+d.OrderID,
		fmt.Sprintf("Sorry, we could not reserve your order %s: %s.\nYou have not been charged.\n", d.OrderID, d.Reason))
}

// OnPaymentFailed tells the customer the payment did not go through.
func (s *Service) OnPaymentFailed(ctx context.Context, _ string, d events.PaymentFailedData) error {
	return s.notify(ctx, d.OrderID, events.PaymentFailed,
		"Payment for your order "+d.OrderID+" failed",
		fmt.Sprintf("The payment for your order %s failed: %s.\nThe items are no longer reserved for you.\n", d.OrderID, d.Reason))
}

// OnDispatched tells the customer the parcel is on its way.
func (s *Service) OnDispatched(ctx context.Context, _ string, d events.ShipmentDispatchedData) error {
	return s.notify(ctx, d.OrderID, events.ShipmentDispatched,
		"Your order "+d.OrderID+" has shipped",
		fmt.Sprintf("Good news: your order %s is on its way with %s, tracking number %s.\n", d.OrderID, d.Carrier, d.TrackingNumber))
}

// OnCancelled tells the customer the order was cancelled or expired.
func (s *Service) OnCancelled(ctx context.Context, _ string, d events.OrderCancelledData) error {
	why := "as you asked"
	if d.Reason == events.ReasonReservationExpired {
		why = "because the payment did not arrive in time"
	}
	return s.notify(ctx, d.OrderID, events.OrderCancelled,
		"Your order "+d.OrderID+" was cancelled",
		fmt.Sprintf("Your order %s was cancelled %s. Any payment will be refunded.\n", d.OrderID, why))
}

// OnRefunded confirms a refund.
func (s *Service) OnRefunded(ctx context.Context, _ string, d events.PaymentRefundedData) error {
	return s.notify(ctx, d.OrderID, events.PaymentRefunded,
		"Refund for your order "+d.OrderID,
		fmt.Sprintf("We refunded %s for your order %s.\n", formatCents(d.AmountCents, d.Currency), d.OrderID))
}

// notify e-mails the order's recipient, whom order.placed made known.
func (s *Service) notify(ctx context.Context, orderID string, k events.Kind, subject, body string) error {
	r, _, err := settle.Read(ctx, func(ctx context.Context) (Recipient, string, error) {
		return s.recipients.Get(ctx, recipientKey(orderID))
	}, func(err error) bool { return errors.Is(err, kv.ErrNotFound) })
	if errors.Is(err, kv.ErrNotFound) {
		// order.placed carries the address and has not been processed yet; it will be soon.
		return apperr.New(apperr.Unavailable, "recipient of order %s not known yet", orderID)
	}
	if err != nil {
		return err
	}
	return s.send(ctx, r, k, subject, body)
}

// send sends one e-mail per (order, kind). The log is written after sending: a crash in between re-sends
// the same message (same id) on redelivery, which at-least-once delivery accepts, while writing first could
// lose the e-mail for good.
func (s *Service) send(ctx context.Context, r Recipient, k events.Kind, subject, body string) error {
	orderID := r.OrderID
	key := sentKey(orderID, k)
	if _, _, err := s.sent.Get(ctx, key); err == nil {
		return nil
	} else if !errors.Is(err, kv.ErrNotFound) {
		return err
	}
	email := Email{ID: orderID + "-" + k.Topic, To: r.Email, Subject: subject, Body: body}
	if err := s.mailer.Send(ctx, email); err != nil {
		return fmt.Errorf("sending %s e-mail: %w", k.Topic, err)
	}
	entry := Sent{OrderID: orderID, Event: k.Topic, To: r.Email, Subject: subject, SentAt: s.now().UTC()}
	if err := s.sent.Create(ctx, key, entry); err != nil && !errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("logging sent e-mail: %w", err)
	}
	return nil
}

// History returns the e-mails sent about an order, in saga order.
func (s *Service) History(ctx context.Context, orderID string) ([]Sent, error) {
	if orderID == "" || strings.ContainsAny(orderID, "/ ") {
		return nil, apperr.Invalidf("orderId", "is required")
	}
	keys := make([]string, len(Notified))
	for i, k := range Notified {
		keys[i] = sentKey(orderID, k)
	}
	found, err := s.sent.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	return kv.InKeyOrder(found, keys), nil
}

func formatCents(cents int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency)
}
