package stock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/logging"
)

// reannounceAfter is how long an expiring reservation waits for shipping's answer before the sweep publishes
// reservation.expired again (in case the first publication was lost).
const reannounceAfter = 30 * time.Second

// DefaultOrphanGrace is how old a hold without an open reservation must be before the sweep takes it back:
// twice the sidecar's 30 s delivery timeout (components/shared/resiliency.yaml), after which it abandons the
// delivery and its context, hence its store calls, end.
const DefaultOrphanGrace = time.Minute

// sweepBatch bounds how many keys one bulk read asks for.
const sweepBatch = 500

// SweepResult counts what one expiry sweep did.
type SweepResult struct {
	Expired  int
	Reminded int
	// Orphaned counts orders whose orphan holds the sweep released or committed.
	Orphaned int
}

// Sweep is triggered by the cron input binding. It finds reservations whose holds are past their expiry,
// moves the unpaid ones to EXPIRING and publishes reservation.expired; shipping then decides whether the order
// can still be stopped. Stock stays held until that answer arrives (as order.cancelled), so an expiry can never
// race a dispatch.
//
// It also repairs orphan holds: holds older than the grace period whose order has no open reservation — no
// record at all (the delivery died before recording, and neither a redelivery nor a cancellation came), or a
// rejected, cancelled, released or committed one (whoever had to move the holds died first). They go where the
// record says: back to available, or to committed for a shipped order. So every hold past the grace period
// costs a read of its reservation on each sweep; open reservations rarely live that long.
//
// It reads the whole catalog, which is cheap for catalogs of thousands of SKUs; a much larger catalog would
// shard the sweep or keep an index of open reservations instead.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	now := s.now().UTC()
	var candidates []string // orders with a hold past its expiry or past the grace period, in the order found
	seen := map[string]bool{}
	stale := map[string][]string{} // order → SKUs where it has a hold older than the grace period
	err := s.eachProduct(ctx, func(e kv.Entry[Product]) {
		for orderID, h := range e.Value.Holds {
			isDue, isStale := !now.Before(h.ExpiresAt), now.Sub(h.PlacedAt) >= s.orphanGrace
			if (isDue || isStale) && !seen[orderID] {
				seen[orderID] = true
				candidates = append(candidates, orderID)
			}
			if isStale {
				stale[orderID] = append(stale[orderID], e.Value.SKU)
			}
		}
	})
	if err != nil {
		return res, err
	}
	var errs []error
	for chunk := range slices.Chunk(candidates, sweepBatch) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = reservationKey(id)
		}
		found, err := s.reservations.GetMany(ctx, keys)
		if err != nil {
			return res, fmt.Errorf("reading reservations to sweep: %w", err)
		}
		for i, orderID := range chunk {
			e, ok := found[keys[i]]
			r := e.Value
			switch {
			case ok && expiryDue(r, now):
				if r.Status == Reserved {
					res.Expired++
				} else {
					res.Reminded++
				}
				err = s.expire(ctx, orderID, now)
			case ok && (r.Status == Reserved || r.Status == Expiring), stale[orderID] == nil:
				continue
			default:
				var repaired bool
				if repaired, err = s.repairOrphan(ctx, orderID, stale[orderID], now); repaired {
					res.Orphaned++
				}
			}
			if err != nil {
				logging.From(ctx).WithError(err).WithField(logging.FieldOrderID, orderID).Warn("sweeping a reservation failed; the next sweep retries")
				errs = append(errs, err)
			}
		}
	}
	return res, errors.Join(errs...)
}

// expiryDue reports whether the sweep is to expire r now: a reservation past its deadline, or an expiring
// one whose announcement has had no answer for reannounceAfter.
func expiryDue(r Reservation, now time.Time) bool {
	return r.Status == Reserved && !now.Before(r.ExpiresAt) ||
		r.Status == Expiring && now.Sub(r.UpdatedAt) >= reannounceAfter
}

// expire marks the reservation EXPIRING (refreshing UpdatedAt on a reminder) and announces it, if it is still
// due: a payment, a cancellation or another replica's sweep may have moved it since the sweep read it. The
// event carries the deadline that passed, so every announcement of one expiry is identical.
func (s *Service) expire(ctx context.Context, orderID string, now time.Time) error {
	r, err := kv.Decide(ctx, s.reservations, reservationKey(orderID), func(r *Reservation, exists bool) (Reservation, bool, error) {
		if !exists || !expiryDue(*r, now) {
			return Reservation{}, false, nil
		}
		r.Status, r.UpdatedAt = Expiring, now
		return *r, true, nil
	})
	if err != nil {
		return fmt.Errorf("marking the reservation of %s expiring: %w", orderID, err)
	}
	if r.Status != Expiring {
		return nil // no longer due
	}
	return s.pub.Publish(ctx, events.New(events.ReservationExpired, r.OrderID, r.ExpiresAt, events.ReservationExpiredData{
		OrderID: r.OrderID, ReservedAt: r.ReservedAt, ExpiredAt: r.ExpiresAt,
	}))
}

// repairOrphan moves the order's holds on skus where its reservation record says they belong, if it is not
// open, and reports whether it moved any. Like reserve, each attempt reads the SKUs before the record and
// writes under the SKUs' ETags. Without a record it takes only holds still older than the grace period: a
// delivery reserving the order rewrites the holds it relies on before it records, so such a hold is either
// fresh or this write fails.
func (s *Service) repairOrphan(ctx context.Context, orderID string, skus []string, now time.Time) (bool, error) {
	var repaired bool
	err := kv.MutateMany(ctx, s.products, productKeys(skus), func(found map[string]kv.Entry[Product]) (map[string]Product, error) {
		repaired = false
		r, _, err := s.reservations.Get(ctx, reservationKey(orderID))
		recorded := err == nil
		move := release
		switch {
		case err != nil && !errors.Is(err, kv.ErrNotFound):
			return nil, err
		case recorded && (r.Status == Reserved || r.Status == Expiring):
			return nil, nil // open: the holds are its own
		case recorded && r.Status == Committed:
			move = commit
		}
		out := map[string]Product{}
		for k, e := range found {
			if h, held := e.Value.Holds[orderID]; held && (recorded || now.Sub(h.PlacedAt) >= s.orphanGrace) {
				out[k] = e.Value.unhold(orderID, move)
			}
		}
		repaired = len(out) > 0
		return out, nil
	})
	if err != nil {
		return false, fmt.Errorf("repairing the orphan holds of order %s: %w", orderID, err)
	}
	return repaired, nil
}

// eachProduct reads the whole catalog, a batch at a time, and calls fn with every product.
func (s *Service) eachProduct(ctx context.Context, fn func(kv.Entry[Product])) error {
	c, _, err := s.catalog.Get(ctx, catalogKey)
	if errors.Is(err, kv.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the catalog: %w", err)
	}
	for chunk := range slices.Chunk(c.SKUs, sweepBatch) {
		products, err := s.products.GetMany(ctx, productKeys(chunk))
		if err != nil {
			return fmt.Errorf("reading the catalog's products: %w", err)
		}
		for _, e := range products {
			fn(e)
		}
	}
	return nil
}
