// Package order is the orders service's domain: the order, its status machine, and the use cases behind the
// public API and the events orders consumes. It knows nothing of gin or Dapr; it talks to storage and the
// broker through the small interfaces in ports.go.
package order

import (
	"slices"
	"time"

	"orderflow/internal/events"
)

// Status is where an order is in the saga.
type Status string

// Statuses. PENDING → RESERVED → PAID → SHIPPED is the happy path; the others are terminal failures.
const (
	Pending       Status = "PENDING"
	Reserved      Status = "RESERVED"
	Paid          Status = "PAID"
	Shipped       Status = "SHIPPED"
	Rejected      Status = "REJECTED"
	PaymentFailed Status = "PAYMENT_FAILED"
	Cancelled     Status = "CANCELLED"
	Expired       Status = "EXPIRED"
)

// Terminal reports whether no further status change can happen.
func (s Status) Terminal() bool {
	switch s {
	case Shipped, Rejected, PaymentFailed, Cancelled, Expired:
		return true
	}
	return false
}

// progress ranks the happy-path statuses, so an event that arrives late (payment.succeeded before
// stock.reserved) never moves an order backwards.
func (s Status) progress() int {
	return slices.Index([]Status{Pending, Reserved, Paid, Shipped}, s)
}

// Change is one entry of an order's history.
type Change struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Order is the aggregate orders owns.
type Order struct {
	ID         string               `json:"id"`
	CustomerID string               `json:"customerId"`
	Email      string               `json:"email"`
	Items      []events.Item        `json:"items"`
	Payment    events.PaymentMethod `json:"payment"`
	Status     Status               `json:"status"`
	Reason     string               `json:"reason,omitempty"`
	Lines      []events.PricedLine  `json:"lines,omitempty"`
	TotalCents *int64               `json:"totalCents,omitempty"`
	Currency   string               `json:"currency,omitempty"`
	PaymentID  string               `json:"paymentId,omitempty"`
	Shipment   *Shipment            `json:"shipment,omitempty"`
	// CancelRequestedAt is set when the customer asked to cancel; shipping decides whether it still can.
	CancelRequestedAt *time.Time `json:"cancelRequestedAt,omitempty"`
	StockReleasedAt   *time.Time `json:"stockReleasedAt,omitempty"`
	RefundedAt        *time.Time `json:"refundedAt,omitempty"`
	History           []Change   `json:"history"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
	// Fingerprint identifies the request that created the order, for Idempotency-Key replays.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Applied lists the ids of events already applied, so a redelivered event has no second effect.
	Applied []string `json:"applied,omitempty"`
}

// Shipment is what shipping reported on dispatch.
type Shipment struct {
	ID             string    `json:"id"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"trackingNumber"`
	DispatchedAt   time.Time `json:"dispatchedAt"`
}

// Cancellable reports whether a customer may still ask to cancel.
func (o Order) Cancellable() bool { return !o.Status.Terminal() }

// transition moves the order to status s at time at, recording it in the history. It refuses to leave a
// terminal status or to step backwards on the happy path; a happy-path step learned late is still recorded
// (see recordLateStep).
func (o *Order) transition(s Status, at time.Time, reason string) bool {
	if o.Status == s {
		return false
	}
	if o.Status.Terminal() || (s.progress() >= 0 && s.progress() < o.Status.progress()) {
		o.recordLateStep(s, at)
		return false
	}
	// Services decide concurrently: shipping can decide a cancellation a few milliseconds before the reservation
	// that orders learned first. The history is the order's path as orders applied it, so a step is never dated
	// before the one it follows.
	if n := len(o.History); n > 0 && at.Before(o.History[n-1].At) {
		at = o.History[n-1].At
	}
	o.Status, o.Reason = s, reason
	o.History = append(o.History, Change{Status: s, At: at.UTC(), Reason: reason})
	return true
}

// recordLateStep puts a happy-path step that orders learns after a later one (orders and payments both
// consume stock.reserved, so payment.succeeded can be applied first) into the history where it happened: the
// history is the saga's steps in saga order, each once, and the status never moves back. Only a step the
// current status proves happened is inserted — PAID, SHIPPED and PAYMENT_FAILED all follow a reservation —
// never an outcome, and nothing into an order that was rejected or stopped.
func (o *Order) recordLateStep(s Status, at time.Time) {
	implied := s.progress() >= 0 && !s.Terminal() &&
		(o.Status.progress() > s.progress() || (o.Status == PaymentFailed && s == Reserved))
	if !implied || slices.ContainsFunc(o.History, func(c Change) bool { return c.Status == s }) {
		return
	}
	i := slices.IndexFunc(o.History, func(c Change) bool { return c.Status.progress() < 0 || c.Status.progress() > s.progress() })
	if i < 0 {
		i = len(o.History)
	}
	o.History = slices.Insert(o.History, i, Change{Status: s, At: at.UTC()})
}

func (o Order) placedEvent() events.Event {
	return events.New(events.OrderPlaced, o.ID, o.CreatedAt, events.OrderPlacedData{
		OrderID:    o.ID,
		CustomerID: o.CustomerID,
		Email:      o.Email,
		Items:      o.Items,
		Payment:    o.Payment,
		PlacedAt:   o.CreatedAt,
	})
}

// stoppedEvent is order.cancelled for an order that shipping confirmed will never ship.
func (o Order) stoppedEvent() (events.Event, bool) {
	reason := map[Status]string{Cancelled: events.ReasonCustomerRequest, Expired: events.ReasonReservationExpired}[o.Status]
	if reason == "" {
		return events.Event{}, false
	}
	at := o.UpdatedAt
	if n := len(o.History); n > 0 {
		at = o.History[n-1].At
	}
	return events.New(events.OrderCancelled, o.ID, at, events.OrderCancelledData{
		OrderID: o.ID, Reason: reason, CancelledAt: at,
	}), true
}

// Claim binds an Idempotency-Key to the order it created and the request that created it.
type Claim struct {
	OrderID     string `json:"orderId"`
	Fingerprint string `json:"fingerprint"`
	// PlacedAt is when the first request placed the order. A retry that finishes that request announces the
	// very same order: a publish reported as failed may still have reached the broker, and the saga's next
	// events must never be older than the order they follow.
	PlacedAt time.Time `json:"placedAt,omitzero"`
}

// CustomerIndex lists a customer's order ids, newest first. The Redis state store has no query API, so
// orders keeps this index itself.
type CustomerIndex struct {
	OrderIDs []string `json:"orderIds"`
}
