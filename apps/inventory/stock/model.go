// Package stock is the inventory service's domain: the catalog, stock levels (available / reserved /
// committed) and reservations, and the rules that keep stock exact under concurrency and redelivery.
//
// # How a multi-line reservation stays all-or-nothing without oversell
//
// Each SKU's record carries the holds placed on it, keyed by order id. Reserving an order:
//
//  1. reads the SKU records with their ETags, then the reservation record — if that exists, the order is
//     decided and the delivery only brings the holds in line with it and re-announces;
//  2. decides — reserve if every line fits, reject otherwise;
//  3. to reserve, writes every SKU of the order in one state transaction, each write guarded by its ETag
//     (available -= q, reserved += q, holds[order] = q, or the hold an earlier attempt placed, refreshed);
//  4. records the decision with a create-only write of the reservation record; whoever creates it first wins,
//     and every delivery then brings the holds in line with the recorded decision: kept while it is open,
//     released (or committed) once it is not;
//  5. publishes stock.reserved or stock.rejected.
//
// Why not rely on the transaction alone: Redis has no rollback, so when one write's ETag check fails Dapr still
// applies the others. The hold on each SKU makes every write idempotent and visible, so a partially applied
// transaction is simply completed on the next attempt (or undone once the decision is recorded), and a crash
// anywhere is repaired by the redelivered event, by a cancellation or, failing both, by the sweep. Stock never
// goes negative because every decrement is checked against the ETag'd record it was computed from.
//
// Holds belong to one decision: nothing removes a hold before the reservation record says the order holds
// nothing (rejected, cancelled, released, committed), so a delivery that lost the race to record never takes
// back the winner's stock. The one exception is the sweep's repair of orphans — holds older than a grace period
// with no record at all, left by a delivery that died before recording — and reserving pins the holds it
// relies on so that repair cannot race it (see Service.reserve). On stores with real transactions
// (PostgreSQL, MySQL) the same code simply never sees a partial application. CheckInvariants states what all
// this keeps true.
package stock

import (
	"maps"
	"time"

	"orderflow/internal/events"
)

// Product is a catalog entry and its stock. Invariant: the stock ever received equals available + reserved +
// committed, and reserved equals the sum of holds.
type Product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int    `json:"available"`
	Reserved   int    `json:"reserved"`
	Committed  int    `json:"committed"`
	// Holds maps order id → what is reserved for it.
	Holds map[string]Hold `json:"holds,omitempty"`
}

// Hold is stock reserved on one SKU for one order, until the reservation expires unless it is paid.
// Keeping the expiry here lets the expiry sweep find due reservations by reading the catalog, so reserving an
// order writes nothing beyond the SKUs and its reservation record.
type Hold struct {
	Quantity  int       `json:"quantity"`
	ExpiresAt time.Time `json:"expiresAt"`
	// PlacedAt is when a delivery last wrote the hold. A hold with no reservation record that has not been
	// rewritten for the grace period belongs to a delivery that died, and the sweep takes it back.
	PlacedAt time.Time `json:"placedAt"`
}

// Status is where a reservation is.
type Status string

// Reservation statuses.
const (
	// Reserved: stock is held for the order, waiting for payment and dispatch.
	Reserved Status = "RESERVED"
	// Expiring: not paid within the TTL; stock stays held until shipping confirms nothing will ship.
	Expiring Status = "EXPIRING"
	// Released: the holds went back to available (payment failed, cancelled, expired).
	Released Status = "RELEASED"
	// Committed: dispatched; the held stock left the warehouse.
	Committed Status = "COMMITTED"
	// Rejected: an unknown SKU or not enough stock; nothing is held.
	Rejected Status = "REJECTED"
	// Cancelled: the order was cancelled before inventory saw it; it will never be reserved.
	Cancelled Status = "CANCELLED"
)

// Reservation is inventory's record of one order.
type Reservation struct {
	OrderID    string               `json:"orderId"`
	CustomerID string               `json:"customerId,omitempty"`
	Status     Status               `json:"status"`
	Lines      []events.PricedLine  `json:"lines,omitempty"`
	TotalCents int64                `json:"totalCents,omitempty"`
	Payment    events.PaymentMethod `json:"payment"`
	Shortages  []events.Shortage    `json:"shortages,omitempty"`
	Reason     string               `json:"reason,omitempty"`
	ReservedAt time.Time            `json:"reservedAt,omitempty"`
	ExpiresAt  time.Time            `json:"expiresAt,omitempty"`
	UpdatedAt  time.Time            `json:"updatedAt"`
}

func (r Reservation) skus() []string {
	out := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		out[i] = l.SKU
	}
	return out
}

func (r Reservation) items() []events.Item {
	out := make([]events.Item, len(r.Lines))
	for i, l := range r.Lines {
		out[i] = events.Item{SKU: l.SKU, Quantity: l.Quantity}
	}
	return out
}

// Catalog lists every SKU, for GET /v1/products (the Redis state store cannot list keys).
type Catalog struct {
	SKUs []string `json:"skus"`
}

// holdMove is where the quantity of a hold goes when the hold is removed.
type holdMove int

const (
	release holdMove = iota // held → available
	commit                  // held → committed
)

// hold sets the order's hold on p, replacing any it had (whose quantity goes back first).
func (p Product) hold(orderID string, h Hold) Product {
	prev := p.Holds[orderID].Quantity
	p.Holds = maps.Clone(p.Holds)
	if p.Holds == nil {
		p.Holds = map[string]Hold{}
	}
	p.Holds[orderID] = h
	p.Available -= h.Quantity - prev
	p.Reserved += h.Quantity - prev
	return p
}

func (p Product) unhold(orderID string, move holdMove) Product {
	qty := p.Holds[orderID].Quantity
	p.Holds = maps.Clone(p.Holds)
	delete(p.Holds, orderID)
	p.Reserved -= qty
	if move == release {
		p.Available += qty
	} else {
		p.Committed += qty
	}
	return p
}
