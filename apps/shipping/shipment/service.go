// Package shipment is the shipping service's domain. Shipping is the last point where an order can still be
// stopped: dispatching a paid order and stopping it (a customer's cancellation, an expired reservation) both
// create the order's shipment record create-only, so exactly one of them happens. Every other service waits
// for shipping's answer — shipment.dispatched or shipment.cancelled — before it commits or releases stock and
// before payments refunds, which is why a cancellation can never race a parcel out of the door.
//
// Labels are written through the Labels port; apps/shipping/labels implements it on the output binding.
package shipment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
)

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
