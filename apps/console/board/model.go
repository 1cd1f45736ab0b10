// Package board is the console's domain: its read model of the saga. It follows every order through the
// events the services publish — the console's own subscriptions, never another service's store — and keeps,
// per order, the timeline of those events (who published what, when) and the status they imply.
//
// The status is a function of the *set* of events an order has seen, never of the order they arrived in:
// each kind of event happens at most once per order (ids are <orderId>/<topic>), a duplicate is recognised by
// its id, and the status is the highest-ranked one the seen kinds imply (rank below). So a redelivery changes
// nothing, a late event never moves an order backwards, and every arrival order ends in the same status.
//
// It knows nothing of gin or Dapr: the API feeds it decoded events, and it persists through the ports in
// ports.go (the console's own state store, console-store).
package board

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"orderflow/internal/events"
)

// Status is where an order is in the saga, as orders names it (apps/orders/order).
type Status string

// The statuses, from PENDING → RESERVED → PAID → SHIPPED on the happy path to the failures.
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

// Statuses lists every status in the order the board counts them.
var Statuses = []Status{Pending, Reserved, Paid, Shipped, Rejected, PaymentFailed, Cancelled, Expired}

// Terminal reports whether the saga is over for an order in s.
func (s Status) Terminal() bool {
	switch s {
	case Shipped, Rejected, PaymentFailed, Cancelled, Expired:
		return true
	}
	return false
}

// Step is one event of an order's timeline.
type Step struct {
	EventID string `json:"eventId"`
	Topic   string `json:"topic"`
	// Source is the CloudEvent source: the app that published it.
	Source string `json:"source"`
	// At is the event's time (when its publisher decided); ReceivedAt when the console received it.
	At         time.Time `json:"at"`
	ReceivedAt time.Time `json:"receivedAt"`
	TraceID    string    `json:"traceId,omitempty"`
	Summary    string    `json:"summary"`
}

// Order is the console's record of one order: what its events said, and the status they imply.
type Order struct {
	ID         string              `json:"id"`
	CustomerID string              `json:"customerId,omitempty"`
	Status     Status              `json:"status"`
	Reason     string              `json:"reason,omitempty"`
	Items      []events.Item       `json:"items,omitempty"`
	Lines      []events.PricedLine `json:"lines,omitempty"`
	TotalCents *int64              `json:"totalCents,omitempty"`
	Currency   string              `json:"currency,omitempty"`
	PaymentID  string              `json:"paymentId,omitempty"`
	Carrier    string              `json:"carrier,omitempty"`
	Tracking   string              `json:"trackingNumber,omitempty"`
	// PlacedAt is order.placed's placedAt: zero until the console has seen it.
	PlacedAt time.Time `json:"placedAt,omitzero"`
	// TraceID is the W3C trace id the order's events carry (in their traceparent).
	TraceID string `json:"traceId,omitempty"`
	// The reasons the deciding events gave, kept so the status can be derived again from the record.
	RejectReason   string `json:"rejectReason,omitempty"`
	PaymentFailure string `json:"paymentFailure,omitempty"`
	StopReason     string `json:"stopReason,omitempty"`
	CancelReason   string `json:"cancelReason,omitempty"`
	Steps          []Step `json:"steps"`
	// Version counts the events applied, so that of two copies of a record the newer is known.
	Version int `json:"version"`
}

// Has reports whether the order has seen an event of kind k.
func (o Order) Has(k events.Kind) bool {
	return slices.ContainsFunc(o.Steps, func(s Step) bool { return s.Topic == k.Topic })
}

// Partial reports whether the console never saw the order being placed (its first events reached the console
// after the record had left the board, or before the console was deployed).
func (o Order) Partial() bool { return !o.Has(events.OrderPlaced) }

// Since is when the order entered the board: its placement, or the first event the console saw of it.
func (o Order) Since() time.Time {
	if !o.PlacedAt.IsZero() {
		return o.PlacedAt
	}
	if len(o.Steps) > 0 {
		return o.Steps[0].At
	}
	return time.Time{}
}

// LastEventAt is the time of the order's latest event.
func (o Order) LastEventAt() time.Time {
	var last time.Time
	for _, s := range o.Steps {
		if s.At.After(last) {
			last = s.At
		}
	}
	return last
}

// CancelRequested, StockReleased, Refunded and Expiring tell what the order's non-deciding events said.
func (o Order) CancelRequested() bool { return o.Has(events.OrderCancelRequested) }

// StockReleased reports that inventory put the order's stock back.
func (o Order) StockReleased() bool { return o.Has(events.StockReleased) }

// Refunded reports that payments refunded the order's charge.
func (o Order) Refunded() bool { return o.Has(events.PaymentRefunded) }

// Event is one delivery the console applies: the CloudEvent's attributes and its decoded payload, one of the
// events.*Data types.
type Event struct {
	ID      string
	Kind    events.Kind
	Source  string
	Time    time.Time
	TraceID string
	Data    any
}

// OrderID is the order the event is about.
func (e Event) OrderID() string {
	switch d := e.Data.(type) {
	case events.OrderPlacedData:
		return d.OrderID
	case events.OrderCancelRequestedData:
		return d.OrderID
	case events.OrderCancelledData:
		return d.OrderID
	case events.StockReservedData:
		return d.OrderID
	case events.StockRejectedData:
		return d.OrderID
	case events.StockReleasedData:
		return d.OrderID
	case events.ReservationExpiredData:
		return d.OrderID
	case events.PaymentSucceededData:
		return d.OrderID
	case events.PaymentFailedData:
		return d.OrderID
	case events.PaymentRefundedData:
		return d.OrderID
	case events.ShipmentDispatchedData:
		return d.OrderID
	case events.ShipmentCancelledData:
		return d.OrderID
	}
	return ""
}

// apply records e in the order and derives its status again. It reports false for an event the order has
// already seen (same id), which changes nothing.
func (o *Order) apply(e Event, receivedAt time.Time) bool {
	if slices.ContainsFunc(o.Steps, func(s Step) bool { return s.EventID == e.ID }) {
		return false
	}
	o.ID = e.OrderID()
	step := Step{EventID: e.ID, Topic: e.Kind.Topic, Source: e.Source, At: e.Time.UTC(), ReceivedAt: receivedAt.UTC(), TraceID: e.TraceID}
	step.Summary = o.record(e.Data)
	if o.TraceID == "" || e.Kind == events.OrderPlaced {
		o.TraceID = cmp.Or(e.TraceID, o.TraceID)
	}
	o.Steps = append(o.Steps, step)
	slices.SortStableFunc(o.Steps, compareSteps)
	o.Status, o.Reason = o.derive()
	o.Version++
	return true
}

// record copies what the payload says into the order and returns the step's one-line summary.
func (o *Order) record(data any) string {
	switch d := data.(type) {
	case events.OrderPlacedData:
		o.CustomerID, o.Items, o.PlacedAt = d.CustomerID, d.Items, d.PlacedAt.UTC()
		return "placed " + describeItems(d.Items)
	case events.OrderCancelRequestedData:
		return "the customer asked to cancel"
	case events.OrderCancelledData:
		o.CancelReason = d.Reason
		return "stopped for good (" + d.Reason + "): stock is released, a charge refunded"
	case events.StockReservedData:
		total := d.TotalCents
		o.CustomerID = cmp.Or(o.CustomerID, d.CustomerID)
		o.Lines, o.TotalCents, o.Currency = d.Lines, &total, d.Currency
		return fmt.Sprintf("reserved %d line(s), total %s, until %s", len(d.Lines), Money(total, d.Currency), d.ExpiresAt.UTC().Format("15:04:05"))
	case events.StockRejectedData:
		o.RejectReason = d.Reason
		return "rejected: " + describeShortages(d.Reason, d.Shortages)
	case events.StockReleasedData:
		return "released the stock (" + d.Reason + ")"
	case events.ReservationExpiredData:
		return "the reservation expired unpaid; shipping is asked to stop the order"
	case events.PaymentSucceededData:
		o.CustomerID = cmp.Or(o.CustomerID, d.CustomerID)
		o.PaymentID = d.PaymentID
		return fmt.Sprintf("charged %s (%s)", Money(d.AmountCents, d.Currency), d.PaymentID)
	case events.PaymentFailedData:
		o.PaymentFailure = d.Code
		return "payment failed: " + cmp.Or(d.Reason, d.Code)
	case events.PaymentRefundedData:
		return fmt.Sprintf("refunded %s", Money(d.AmountCents, d.Currency))
	case events.ShipmentDispatchedData:
		o.Carrier, o.Tracking = d.Carrier, d.TrackingNumber
		return fmt.Sprintf("dispatched with %s, tracking %s", d.Carrier, d.TrackingNumber)
	case events.ShipmentCancelledData:
		o.StopReason = d.Reason
		return "shipping stopped the order (" + d.Reason + "): it will never ship"
	}
	return ""
}

// rank orders the statuses the seen events imply; an order shows the highest. The happy path climbs it, a
// failure outranks every step before it, and order.cancelled — which orders publishes only once it has
// decided CANCELLED or EXPIRED — outranks everything, so the board ends where orders ended even when a
// cancellation raced a rejection or a decline (orders keeps whichever it applied first). A status never
// moves down this list.
var rank = []struct {
	kind   events.Kind
	status func(o Order) (Status, string)
}{
	{events.OrderCancelled, func(o Order) (Status, string) { return stopped(o.CancelReason) }},
	{events.ShipmentDispatched, func(Order) (Status, string) { return Shipped, "" }},
	{events.StockRejected, func(o Order) (Status, string) { return Rejected, o.RejectReason }},
	{events.PaymentFailed, func(o Order) (Status, string) { return PaymentFailed, o.PaymentFailure }},
	// Shipping's stop: orders turns it into CANCELLED or EXPIRED, unless the order failed first.
	{events.ShipmentCancelled, func(o Order) (Status, string) { return stopped(o.StopReason) }},
	{events.PaymentSucceeded, func(Order) (Status, string) { return Paid, "" }},
	{events.StockReserved, func(Order) (Status, string) { return Reserved, "" }},
}

func stopped(reason string) (Status, string) {
	if reason == events.ReasonReservationExpired {
		return Expired, reason
	}
	return Cancelled, reason
}

// derive is the status the order's events imply: the first kind of rank it has seen decides.
func (o Order) derive() (Status, string) {
	for _, r := range rank {
		if o.Has(r.kind) {
			return r.status(o)
		}
	}
	return Pending, ""
}

// Rank is the position of the order's status in the ranking (0: PENDING, higher: further), for tests that
// check it never decreases.
func (o Order) Rank() int {
	for i, r := range rank {
		if o.Has(r.kind) {
			return len(rank) - i
		}
	}
	return 0
}

// compareSteps orders a timeline by event time, then by the kinds' place in the catalog (saga order), so two
// events stamped alike still read in the order the saga runs.
func compareSteps(a, b Step) int {
	return cmp.Or(a.At.Compare(b.At), cmp.Compare(topicOrder(a.Topic), topicOrder(b.Topic)), strings.Compare(a.EventID, b.EventID))
}

func topicOrder(topic string) int {
	return slices.IndexFunc(events.All, func(k events.Kind) bool { return k.Topic == topic })
}

func describeItems(items []events.Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%s×%d", it.SKU, it.Quantity)
	}
	return strings.Join(parts, ", ")
}

func describeShortages(reason string, shortages []events.Shortage) string {
	parts := []string{reason}
	for _, s := range shortages {
		if !s.Known {
			parts = append(parts, s.SKU+" is not in the catalog")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %d wanted, %d available", s.SKU, s.Requested, s.Available))
	}
	return strings.Join(parts, "; ")
}

// Money renders an amount in minor units, such as $39.98.
func Money(cents int64, currency string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	if currency == "" || currency == events.Currency {
		return fmt.Sprintf("%s$%d.%02d", sign, cents/100, cents%100)
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, cents/100, cents%100, currency)
}
