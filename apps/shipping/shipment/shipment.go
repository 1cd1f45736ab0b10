// Package shipment is the shipping service's domain. Shipping is the last point where an order can still be
// stopped: dispatching a paid order and stopping it (a customer's cancellation, an expired reservation) both
// create the order's shipment record create-only, so exactly one of them happens. Every other service waits
// for shipping's answer — shipment.dispatched or shipment.cancelled — before it commits or releases stock and
// before payments refunds, which is why a cancellation can never race a parcel out of the door.
package shipment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/failpoint"
)

// Status is a shipment record's state.
type Status string

// Shipment statuses.
const (
	Dispatched Status = "DISPATCHED"
	Cancelled  Status = "CANCELLED"
)

// Shipment is shipping's record of one order.
type Shipment struct {
	OrderID        string    `json:"orderId"`
	Status         Status    `json:"status"`
	ShipmentID     string    `json:"shipmentId,omitempty"`
	Carrier        string    `json:"carrier,omitempty"`
	TrackingNumber string    `json:"trackingNumber,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	At             time.Time `json:"at"`
}

// Label is the shipping label document handed to the carrier.
type Label struct {
	ShipmentID     string    `json:"shipmentId"`
	OrderID        string    `json:"orderId"`
	CustomerID     string    `json:"customerId"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"trackingNumber"`
	CreatedAt      time.Time `json:"createdAt"`
}

// Store persists shipment records.
type Store interface {
	kv.Creatable[Shipment]
}

// Labels stores shipping labels (the shipping-labels output binding).
type Labels interface {
	Put(ctx context.Context, l Label) error
}

// Publisher publishes events to the broker.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}

// Service implements the shipping use cases.
type Service struct {
	store   Store
	labels  Labels
	pub     Publisher
	carrier string
	now     func() time.Time
}

// NewService wires the use cases to their ports; carrier names the parcel service on labels.
func NewService(store Store, labels Labels, pub Publisher, carrier string, now func() time.Time) *Service {
	return &Service{store: store, labels: labels, pub: pub, carrier: carrier, now: now}
}

func key(orderID string) string { return "shipment/" + orderID }

// Get returns the shipment record of an order.
func (s *Service) Get(ctx context.Context, orderID string) (Shipment, error) {
	sh, _, err := s.store.Get(ctx, key(orderID))
	if errors.Is(err, kv.ErrNotFound) {
		return Shipment{}, apperr.New(apperr.NotFound, "no shipment for order %s", orderID)
	}
	return sh, err
}

// OnPaymentSucceeded dispatches the order unless it was stopped first.
func (s *Service) OnPaymentSucceeded(ctx context.Context, _ string, d events.PaymentSucceededData) error {
	failpoint.Inject(ctx, "shipping.before-dispatch")
	id := deterministicID(d.OrderID)
	sh, err := s.decide(ctx, Shipment{
		OrderID: d.OrderID, Status: Dispatched, ShipmentID: "shp_" + id[:16], Carrier: s.carrier,
		TrackingNumber: "OF" + strings.ToUpper(id[16:28]), At: s.now().UTC(),
	})
	if err != nil {
		return err
	}
	if sh.Status == Dispatched {
		// Written after the decision: a crash in between re-writes the same label on redelivery.
		if err := s.labels.Put(ctx, Label{ShipmentID: sh.ShipmentID, OrderID: sh.OrderID, CustomerID: d.CustomerID,
			Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, CreatedAt: sh.At}); err != nil {
			return fmt.Errorf("writing the label of %s: %w", d.OrderID, err)
		}
	}
	return s.announce(ctx, sh)
}

// OnCancelRequested stops the order if it has not been dispatched.
func (s *Service) OnCancelRequested(ctx context.Context, _ string, d events.OrderCancelRequestedData) error {
	return s.stop(ctx, d.OrderID, events.ReasonCustomerRequest)
}

// OnReservationExpired stops an order whose reservation was not paid in time, if it has not been dispatched.
func (s *Service) OnReservationExpired(ctx context.Context, _ string, d events.ReservationExpiredData) error {
	return s.stop(ctx, d.OrderID, events.ReasonReservationExpired)
}

func (s *Service) stop(ctx context.Context, orderID, reason string) error {
	sh, err := s.decide(ctx, Shipment{OrderID: orderID, Status: Cancelled, Reason: reason, At: s.now().UTC()})
	if err != nil {
		return err
	}
	return s.announce(ctx, sh)
}

// decide records want unless a decision exists, and returns the decision that stands. It reads before it
// writes, so a redelivery, or a stop that comes after the dispatch, costs no failed create-only write.
func (s *Service) decide(ctx context.Context, want Shipment) (Shipment, error) {
	stands, _, err := kv.GetOrCreate(ctx, s.store, key(want.OrderID), want)
	if err != nil {
		return Shipment{}, fmt.Errorf("recording shipment decision for %s: %w", want.OrderID, err)
	}
	return stands, nil
}

// announce publishes the standing decision; redeliveries repeat it with the same event id.
func (s *Service) announce(ctx context.Context, sh Shipment) error {
	if sh.Status == Dispatched {
		return s.pub.Publish(ctx, events.New(events.ShipmentDispatched, sh.OrderID, sh.At, events.ShipmentDispatchedData{
			OrderID: sh.OrderID, ShipmentID: sh.ShipmentID, Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, DispatchedAt: sh.At,
		}))
	}
	return s.pub.Publish(ctx, events.New(events.ShipmentCancelled, sh.OrderID, sh.At, events.ShipmentCancelledData{
		OrderID: sh.OrderID, Reason: sh.Reason, CancelledAt: sh.At,
	}))
}

func deterministicID(orderID string) string {
	sum := sha256.Sum256([]byte("shipment:" + orderID))
	return hex.EncodeToString(sum[:])
}

// Invoker is an output binding (daprx.Binding).
type Invoker interface {
	Invoke(ctx context.Context, operation string, data []byte, meta map[string]string) ([]byte, map[string]string, error)
}

// BindingLabels stores labels through the "shipping-labels" output binding: one JSON document per order,
// named so that a retry overwrites rather than duplicates — fileName for local files, key for S3 and Cloud
// Storage, blobName for Azure Blob Storage; each binding reads its own and ignores the others.
type BindingLabels struct{ binding Invoker }

// NewBindingLabels returns label storage on binding.
func NewBindingLabels(binding Invoker) *BindingLabels { return &BindingLabels{binding: binding} }

// Put implements Labels.
func (b *BindingLabels) Put(ctx context.Context, l Label) error {
	doc, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	name := l.OrderID + ".json"
	_, _, err = b.binding.Invoke(ctx, "create", doc, map[string]string{"fileName": name, "key": name, "blobName": name, "contentType": "application/json"})
	return err
}
