package events

import (
	"time"

	"orderflow/internal/apperr"
)

// Currency is the single currency orderflow prices in; amounts are integer minor units (cents).
const Currency = "USD"

// Reasons an order is stopped before shipping.
const (
	ReasonCustomerRequest    = "customer_request"
	ReasonReservationExpired = "reservation_expired"
	ReasonPaymentFailed      = "payment_failed"
)

// Item is an ordered quantity of one SKU.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// PaymentMethod is how the customer pays: an opaque card token, never card data.
type PaymentMethod struct {
	CardToken string `json:"cardToken"`
}

// PricedLine is an item priced by inventory at reservation time.
type PricedLine struct {
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
	LineTotalCents int64  `json:"lineTotalCents"`
}

// Shortage explains why one line could not be reserved.
type Shortage struct {
	SKU       string `json:"sku"`
	Requested int    `json:"requested"`
	Available int    `json:"available"`
	Known     bool   `json:"known"`
}

// OrderPlacedData: a customer placed an order (orders → inventory, notifications, orders).
type OrderPlacedData struct {
	OrderID    string        `json:"orderId"`
	CustomerID string        `json:"customerId"`
	Email      string        `json:"email"`
	Items      []Item        `json:"items"`
	Payment    PaymentMethod `json:"payment"`
	PlacedAt   time.Time     `json:"placedAt"`
}

// OrderCancelRequestedData: a customer asked to cancel; shipping decides whether it is still possible.
type OrderCancelRequestedData struct {
	OrderID     string    `json:"orderId"`
	RequestedAt time.Time `json:"requestedAt"`
}

// OrderCancelledData: the order is definitely stopped (cancelled or expired) and nothing will ship, so
// inventory releases stock and payments refunds or voids.
type OrderCancelledData struct {
	OrderID     string    `json:"orderId"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// StockReservedData: every line is reserved and priced. Payment is forwarded from order.placed so payments
// can charge without another lookup.
type StockReservedData struct {
	OrderID    string        `json:"orderId"`
	CustomerID string        `json:"customerId"`
	Lines      []PricedLine  `json:"lines"`
	TotalCents int64         `json:"totalCents"`
	Currency   string        `json:"currency"`
	Payment    PaymentMethod `json:"payment"`
	ReservedAt time.Time     `json:"reservedAt"`
	ExpiresAt  time.Time     `json:"expiresAt"`
}

// StockRejectedData: the order cannot be reserved (unknown SKU or not enough stock); nothing is held.
type StockRejectedData struct {
	OrderID    string     `json:"orderId"`
	Reason     string     `json:"reason"`
	Shortages  []Shortage `json:"shortages"`
	RejectedAt time.Time  `json:"rejectedAt"`
}

// StockReleasedData: a reservation's stock went back to available.
type StockReleasedData struct {
	OrderID    string    `json:"orderId"`
	Reason     string    `json:"reason"`
	Lines      []Item    `json:"lines"`
	ReleasedAt time.Time `json:"releasedAt"`
}

// ReservationExpiredData: a reservation was not paid within its TTL. Stock stays held until shipping confirms
// nothing will ship (shipment.cancelled → order.cancelled), so expiry can never race a dispatch.
type ReservationExpiredData struct {
	OrderID    string    `json:"orderId"`
	ReservedAt time.Time `json:"reservedAt"`
	ExpiredAt  time.Time `json:"expiredAt"`
}

// PaymentSucceededData: the order's total was charged (payments → orders, shipping).
type PaymentSucceededData struct {
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	PaymentID   string    `json:"paymentId"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	PaidAt      time.Time `json:"paidAt"`
}

// Payment failure codes.
const (
	PaymentDeclined            = "card_declined"
	PaymentInsufficientFunds   = "insufficient_funds"
	PaymentAmountOverLimit     = "amount_over_limit"
	PaymentProviderUnavailable = "provider_unavailable"
)

// PaymentFailedData: the charge was refused or could not be made; nothing was charged.
type PaymentFailedData struct {
	OrderID  string    `json:"orderId"`
	Code     string    `json:"code"`
	Reason   string    `json:"reason"`
	FailedAt time.Time `json:"failedAt"`
}

// PaymentRefundedData: a charge was refunded after the order was stopped.
type PaymentRefundedData struct {
	OrderID     string    `json:"orderId"`
	PaymentID   string    `json:"paymentId"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	RefundedAt  time.Time `json:"refundedAt"`
}

// ShipmentDispatchedData: the parcel left; the order can no longer be cancelled.
type ShipmentDispatchedData struct {
	OrderID        string    `json:"orderId"`
	ShipmentID     string    `json:"shipmentId"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"trackingNumber"`
	DispatchedAt   time.Time `json:"dispatchedAt"`
}

// ShipmentCancelledData: shipping guarantees the order will never be dispatched.
type ShipmentCancelledData struct {
	OrderID     string    `json:"orderId"`
	Reason      string    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// Validate methods reject payloads that parse but cannot be acted on; handlers drop such events to the
// dead-letter topic instead of retrying them forever.

func (d OrderPlacedData) Validate() error {
	if err := requireOrderID(d.OrderID); err != nil {
		return err
	}
	if d.CustomerID == "" {
		return apperr.Invalidf("data.customerId", "is required")
	}
	if len(d.Items) == 0 {
		return apperr.Invalidf("data.items", "needs at least one item")
	}
	for _, it := range d.Items {
		if it.SKU == "" || it.Quantity <= 0 {
			return apperr.Invalidf("data.items", "every item needs a sku and a positive quantity")
		}
	}
	return nil
}

func (d OrderCancelRequestedData) Validate() error { return requireOrderID(d.OrderID) }

func (d OrderCancelledData) Validate() error {
	if err := requireOrderID(d.OrderID); err != nil {
		return err
	}
	return requireReason(d.Reason, ReasonCustomerRequest, ReasonReservationExpired)
}

func (d StockReservedData) Validate() error {
	if err := requireOrderID(d.OrderID); err != nil {
		return err
	}
	if len(d.Lines) == 0 || d.TotalCents < 0 {
		return apperr.Invalidf("data.lines", "a reservation needs lines and a non-negative total")
	}
	return nil
}

func (d StockRejectedData) Validate() error { return requireOrderID(d.OrderID) }

func (d StockReleasedData) Validate() error { return requireOrderID(d.OrderID) }

func (d ReservationExpiredData) Validate() error { return requireOrderID(d.OrderID) }

func (d PaymentSucceededData) Validate() error {
	if err := requireOrderID(d.OrderID); err != nil {
		return err
	}
	if d.PaymentID == "" {
		return apperr.Invalidf("data.paymentId", "is required")
	}
	return nil
}

func (d PaymentFailedData) Validate() error { return requireOrderID(d.OrderID) }

func (d PaymentRefundedData) Validate() error { return requireOrderID(d.OrderID) }

func (d ShipmentDispatchedData) Validate() error { return requireOrderID(d.OrderID) }

func (d ShipmentCancelledData) Validate() error {
	if err := requireOrderID(d.OrderID); err != nil {
		return err
	}
	return requireReason(d.Reason, ReasonCustomerRequest, ReasonReservationExpired)
}

func requireOrderID(id string) error {
	if id == "" {
		return apperr.Invalidf("data.orderId", "is required")
	}
	return nil
}

func requireReason(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return apperr.Invalidf("data.reason", "must be one of %v, got %q", allowed, got)
}
