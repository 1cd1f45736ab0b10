package stock

import (
	"context"
	"errors"
	"hash/fnv"
	"maps"
	"strconv"
	"time"

	"orderflow/internal/events"
	"orderflow/internal/platform/logging"
)

const (
	// indexShards spreads the open-reservation index over several keys, so concurrent reservations rarely
	// contend for the same one.
	indexShards = 16
	// reannounceAfter is how long an expiring reservation waits for shipping's answer before the sweep
	// publishes reservation.expired again (in case the first publication was lost).
	reannounceAfter = 30 * time.Second
)

func indexKey(shard int) string { return "open/" + strconv.Itoa(shard) }

func shardOf(orderID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(orderID))
	return int(h.Sum32() % indexShards)
}

// watch adds a reservation to the open index the expiry sweep reads (idempotent).
func (s *Service) watch(ctx context.Context, orderID string, expiresAt time.Time) error {
	key := indexKey(shardOf(orderID))
	for attempt := 0; attempt < maxAttempts; attempt++ {
		idx, etag, err := s.index.Get(ctx, key)
		switch {
		case isNotFound(err):
			err = s.index.Create(ctx, key, OpenIndex{Orders: map[string]time.Time{orderID: expiresAt}})
		case err != nil:
			return err
		default:
			if _, ok := idx.Orders[orderID]; ok {
				return nil
			}
			orders := maps.Clone(idx.Orders)
			if orders == nil {
				orders = map[string]time.Time{}
			}
			orders[orderID] = expiresAt
			err = s.index.Update(ctx, key, OpenIndex{Orders: orders}, etag)
		}
		if !isConflict(err) {
			return err
		}
	}
	return contended("the open-reservation index")
}

// SweepResult counts what one expiry sweep did.
type SweepResult struct {
	Expired  int
	Reminded int
	Closed   int
}

// Sweep is triggered by the cron input binding. It moves reservations unpaid past their expiry to EXPIRING
// and publishes reservation.expired; shipping then decides whether the order can still be stopped. Stock stays
// held until that answer arrives (as order.cancelled), so an expiry can never race a dispatch. Reservations that
// reached a final state leave the index.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var total SweepResult
	var errs []error
	for shard := 0; shard < indexShards; shard++ {
		res, err := s.sweepShard(ctx, shard)
		total.Expired += res.Expired
		total.Reminded += res.Reminded
		total.Closed += res.Closed
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

func (s *Service) sweepShard(ctx context.Context, shard int) (SweepResult, error) {
	var res SweepResult
	idx, etag, err := s.index.Get(ctx, indexKey(shard))
	if isNotFound(err) || (err == nil && len(idx.Orders) == 0) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	keys := make([]string, 0, len(idx.Orders))
	for id := range idx.Orders {
		keys = append(keys, reservationKey(id))
	}
	found, err := s.reservations.GetMany(ctx, keys)
	if err != nil {
		return res, err
	}
	now := s.now().UTC()
	var closed []string
	for id := range idx.Orders {
		e, ok := found[reservationKey(id)]
		if !ok {
			closed = append(closed, id)
			continue
		}
		r := e.Value
		switch {
		case r.Status == Reserved && !now.Before(r.ExpiresAt):
			if err := s.expire(ctx, r, e.ETag, now); err != nil {
				logging.From(ctx).WithError(err).WithField(logging.FieldOrderID, id).Warn("expiring reservation failed; next sweep retries")
				continue
			}
			res.Expired++
		case r.Status == Expiring && now.Sub(r.UpdatedAt) >= reannounceAfter:
			if err := s.expire(ctx, r, e.ETag, now); err != nil {
				continue
			}
			res.Reminded++
		case r.Status != Reserved && r.Status != Expiring:
			closed = append(closed, id)
		}
	}
	if len(closed) > 0 {
		orders := maps.Clone(idx.Orders)
		for _, id := range closed {
			delete(orders, id)
		}
		// A conflict means a reservation was added meanwhile; the next sweep closes these.
		if err := s.index.Update(ctx, indexKey(shard), OpenIndex{Orders: orders}, etag); err == nil {
			res.Closed = len(closed)
		} else if !isConflict(err) {
			return res, err
		}
	}
	return res, nil
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
