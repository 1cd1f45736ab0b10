package stock

import (
	"context"
	"errors"
	"slices"
	"time"

	"orderflow/internal/events"
	"orderflow/internal/platform/logging"
)

// reannounceAfter is how long an expiring reservation waits for shipping's answer before the sweep publishes
// reservation.expired again (in case the first publication was lost).
const reannounceAfter = 30 * time.Second

// sweepBatch bounds how many keys one bulk read asks for.
const sweepBatch = 500

// SweepResult counts what one expiry sweep did.
type SweepResult struct {
	Expired  int
	Reminded int
}

// Sweep is triggered by the cron input binding. It finds reservations whose holds are past their expiry,
// moves the unpaid ones to EXPIRING and publishes reservation.expired; shipping then decides whether the order
// can still be stopped. Stock stays held until that answer arrives (as order.cancelled), so an expiry can never
// race a dispatch.
//
// It reads the whole catalog, which is cheap for catalogs of thousands of SKUs; a much larger catalog would
// shard the sweep or keep an index of open reservations instead.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	c, _, err := s.catalog.Get(ctx, catalogKey)
	if isNotFound(err) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	now := s.now().UTC()
	var due []string
	seen := map[string]bool{}
	for chunk := range slices.Chunk(c.SKUs, sweepBatch) {
		products, err := s.products.GetMany(ctx, productKeys(chunk))
		if err != nil {
			return res, err
		}
		for _, e := range products {
			for orderID, h := range e.Value.Holds {
				if !now.Before(h.ExpiresAt) && !seen[orderID] {
					seen[orderID] = true
					due = append(due, orderID)
				}
			}
		}
	}
	var errs []error
	for chunk := range slices.Chunk(due, sweepBatch) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = reservationKey(id)
		}
		found, err := s.reservations.GetMany(ctx, keys)
		if err != nil {
			return res, err
		}
		for _, e := range found {
			r := e.Value
			switch {
			case r.Status == Reserved && !now.Before(r.ExpiresAt):
				res.Expired++
			case r.Status == Expiring && now.Sub(r.UpdatedAt) >= reannounceAfter:
				res.Reminded++
			default:
				continue
			}
			if err := s.expire(ctx, r, e.ETag, now); err != nil {
				logging.From(ctx).WithError(err).WithField(logging.FieldOrderID, r.OrderID).Warn("expiring reservation failed; the next sweep retries")
				errs = append(errs, err)
			}
		}
	}
	return res, errors.Join(errs...)
}

// expire marks the reservation EXPIRING (refreshing UpdatedAt on a reminder) and announces it. The event
// carries the deadline that passed, so every announcement of one expiry is identical.
func (s *Service) expire(ctx context.Context, r Reservation, etag string, now time.Time) error {
	r.Status, r.UpdatedAt = Expiring, now
	if err := s.reservations.Update(ctx, reservationKey(r.OrderID), r, etag); err != nil {
		return err
	}
	return s.pub.Publish(ctx, events.New(events.ReservationExpired, r.OrderID, r.ExpiresAt, events.ReservationExpiredData{
		OrderID: r.OrderID, ReservedAt: r.ReservedAt, ExpiredAt: r.ExpiresAt,
	}))
}
