package order

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/logging"
)

// OpenShards is how many keys the index of open orders is spread over. Placing an order writes the one shard
// its id hashes to, so concurrent placements contend only when they land on the same shard; the sweep reads
// all of them in one bulk read.
const OpenShards = 16

// MaxRedrives is how often the SLA sweep re-drives an order that does not move before it gives up and marks
// the order stuck for an operator.
const MaxRedrives = 3

// sweepBatch bounds how many orders one bulk read asks for.
const sweepBatch = 500

// OpenEntry is what the index of open orders keeps about one order: the re-drives the SLA sweep made since the
// order last changed. A fresh entry is empty.
type OpenEntry struct {
	// Since is the order's updatedAt the re-drives are counted against: once the order changes, it moved, and
	// the count starts again.
	Since      time.Time `json:"since,omitzero"`
	Redrives   int       `json:"redrives,omitempty"`
	RedrivenAt time.Time `json:"redrivenAt,omitzero"`
	// Stuck: MaxRedrives re-drives did not move the order; the sweep leaves it to an operator.
	Stuck bool `json:"stuck,omitempty"`
}

func (e OpenEntry) same(o OpenEntry) bool {
	return e.Since.Equal(o.Since) && e.Redrives == o.Redrives && e.RedrivenAt.Equal(o.RedrivenAt) && e.Stuck == o.Stuck
}

// forOrder is the entry as it applies to o now: re-drives counted against an earlier state of the order no
// longer count, because the order moved since.
func (e OpenEntry) forOrder(o Order) OpenEntry {
	if !e.Since.Equal(o.UpdatedAt) {
		return OpenEntry{}
	}
	return e
}

// OpenShard is one key of the index of open orders: order id → entry.
type OpenShard struct {
	Orders map[string]OpenEntry `json:"orders"`
}

func openKey(n uint32) string { return fmt.Sprintf("open/%d", n) }

func openShardOf(orderID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(orderID)) // a hash never fails to write
	return openKey(h.Sum32() % OpenShards)
}

func openShardKeys() []string {
	keys := make([]string, OpenShards)
	for i := range keys {
		keys[i] = openKey(uint32(i))
	}
	return keys
}

// updateShard runs change on the orders of one shard under optimistic concurrency; change reports whether it
// changed anything and, like kv.Mutate's, may run several times.
func (s *Service) updateShard(ctx context.Context, key string, change func(orders map[string]OpenEntry) bool) error {
	return kv.Mutate(ctx, s.open, key, func(sh *OpenShard, _ bool) bool {
		if sh.Orders == nil {
			sh.Orders = map[string]OpenEntry{}
		}
		return change(sh.Orders)
	})
}

// markOpen lists the order in the index of open orders. It is idempotent and keeps an existing entry, so a
// redelivered order.placed does not reset the sweep's re-drive count.
func (s *Service) markOpen(ctx context.Context, orderID string) error {
	return s.updateShard(ctx, openShardOf(orderID), func(orders map[string]OpenEntry) bool {
		if _, ok := orders[orderID]; ok {
			return false
		}
		orders[orderID] = OpenEntry{}
		return true
	})
}

// markClosed takes a terminal order out of the index. A failure is only logged: the event that ended the
// order was applied, and the sweep drops every terminal order it finds in the index, so nothing is gained by
// asking for the event again.
func (s *Service) markClosed(ctx context.Context, orderID string) {
	err := s.updateShard(ctx, openShardOf(orderID), func(orders map[string]OpenEntry) bool {
		if _, ok := orders[orderID]; !ok {
			return false
		}
		delete(orders, orderID)
		return true
	})
	if err != nil {
		logging.From(ctx).WithError(err).Warn("taking the finished order out of the open-order index failed; the SLA sweep will")
	}
}

// openOrder is one indexed order with the index entry it was read with.
type openOrder struct {
	shard string
	entry OpenEntry
	order Order
}

// readOpen reads the index and the orders it lists. An indexed id whose order is not found is left out: the
// index is written only after the order, so that is a store that lost the order, and there is nothing to
// re-drive from.
func (s *Service) readOpen(ctx context.Context) ([]openOrder, error) {
	shards, err := s.open.GetMany(ctx, openShardKeys())
	if err != nil {
		return nil, fmt.Errorf("reading the open-order index: %w", err)
	}
	shardOf := map[string]string{}
	entries := map[string]OpenEntry{}
	for key, sh := range shards {
		for id, e := range sh.Value.Orders {
			shardOf[id], entries[id] = key, e
		}
	}
	var out []openOrder
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(entries)), sweepBatch) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = orderKey(id)
		}
		found, err := s.orders.GetMany(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("reading open orders: %w", err)
		}
		for i, id := range chunk {
			if e, ok := found[keys[i]]; ok {
				out = append(out, openOrder{shard: shardOf[id], entry: entries[id], order: e.Value})
			}
		}
	}
	return out, nil
}

// Overdue is an open order whose last change is older than the SLA.
type Overdue struct {
	Order Order
	// Age is the time since the order was placed, Idle the time since it last changed.
	Age, Idle     time.Duration
	Redrives      int
	LastRedriveAt *time.Time
	Stuck         bool
}

// OverdueReport lists overdue orders, with counts of all of them.
type OverdueReport struct {
	SLA            time.Duration
	Overdue, Stuck int
	// Orders are the longest idle first, at most the limit asked for.
	Orders []Overdue
}

func (s *Service) overdue(oo openOrder, now time.Time) (Overdue, bool) {
	o := oo.order
	if o.Status.Terminal() || now.Sub(o.UpdatedAt) < s.sla {
		return Overdue{}, false
	}
	e := oo.entry.forOrder(o)
	d := Overdue{Order: o, Age: now.Sub(o.CreatedAt), Idle: now.Sub(o.UpdatedAt), Redrives: e.Redrives, Stuck: e.Stuck}
	if !e.RedrivenAt.IsZero() {
		at := e.RedrivenAt
		d.LastRedriveAt = &at
	}
	return d, true
}

// ListOverdue lists up to limit open orders past the SLA, longest idle first.
func (s *Service) ListOverdue(ctx context.Context, limit int) (OverdueReport, error) {
	if limit < 1 || limit > MaxListedOrders {
		return OverdueReport{}, invalidLimit()
	}
	open, err := s.readOpen(ctx)
	if err != nil {
		return OverdueReport{}, err
	}
	now := s.now().UTC()
	rep := OverdueReport{SLA: s.sla, Orders: []Overdue{}}
	for _, oo := range open {
		if d, ok := s.overdue(oo, now); ok {
			rep.Overdue++
			if d.Stuck {
				rep.Stuck++
			}
			rep.Orders = append(rep.Orders, d)
		}
	}
	slices.SortFunc(rep.Orders, func(a, b Overdue) int {
		return cmp.Or(cmp.Compare(b.Idle, a.Idle), cmp.Compare(a.Order.ID, b.Order.ID))
	})
	rep.Orders = rep.Orders[:min(len(rep.Orders), limit)]
	return rep, nil
}

// SweepResult counts what one SLA sweep found and did.
type SweepResult struct {
	// Overdue counts the open orders past the SLA, Stuck those of them the sweep gave up on.
	Overdue, Stuck int
	Redriven       int
	// Closed counts terminal orders dropped from the index (their handler's own removal failed or raced).
	Closed int
}

// indexChange is what the sweep writes for one order: drop it, or replace the entry it read (seen) with next
// — unless the entry changed meanwhile, when another sweep (another replica) or a placement got there first.
type indexChange struct {
	drop       bool
	seen, next OpenEntry
}

// Sweep is triggered by the cron input binding. Every open order whose last change is older than the SLA is
// re-driven: its order.placed is published again under its deterministic id. Every service deduplicates it
// and re-announces the decision it recorded (inventory stock.reserved or stock.rejected, payments the
// payment's outcome, shipping the dispatch or the stop), so the saga walks forward from wherever an event was
// lost. A re-drive gets a whole SLA to show an effect before the next; after MaxRedrives without the order
// changing, it is marked stuck, logged as an error and left to an operator (it stays listed as overdue).
//
// It reads the index and every open order on each run, which is cheap for thousands of open orders.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	open, err := s.readOpen(ctx)
	if err != nil {
		return res, err
	}
	now := s.now().UTC()
	changes := map[string]map[string]indexChange{}
	change := func(oo openOrder, c indexChange) {
		if changes[oo.shard] == nil {
			changes[oo.shard] = map[string]indexChange{}
		}
		changes[oo.shard][oo.order.ID] = c
	}
	var errs []error
	for _, oo := range open {
		if oo.order.Status.Terminal() {
			res.Closed++
			change(oo, indexChange{drop: true})
			continue
		}
		d, ok := s.overdue(oo, now)
		if !ok {
			continue
		}
		res.Overdue++
		e := oo.entry.forOrder(oo.order)
		log := logging.From(ctx).WithFields(logrus.Fields{
			logging.FieldOrderID: oo.order.ID, "status": oo.order.Status,
			"age": d.Age.Round(time.Second).String(), "idle": d.Idle.Round(time.Second).String(), "redrives": e.Redrives,
		})
		switch {
		case e.Stuck:
			res.Stuck++
		case now.Sub(e.RedrivenAt) < s.sla:
			// The last re-drive has not had its SLA yet.
		case e.Redrives >= MaxRedrives:
			res.Stuck++
			next := e
			next.Stuck = true
			change(oo, indexChange{seen: oo.entry, next: next})
			log.Errorf("order is stuck: %d re-drives did not move it; no longer re-driven, see GET /v1/orders/overdue", e.Redrives)
		default:
			// Published before it is counted: a failed count only means one more (harmless) re-drive.
			if err := s.redrive(ctx, oo.order); err != nil {
				log.WithError(err).Warn("re-driving an order past its SLA failed; the next sweep retries")
				errs = append(errs, err)
				continue
			}
			res.Redriven++
			change(oo, indexChange{seen: oo.entry, next: OpenEntry{Since: oo.order.UpdatedAt, Redrives: e.Redrives + 1, RedrivenAt: now}})
			log.Warn("order is past its SLA; re-driving it by publishing its order.placed again")
		}
	}
	for _, shard := range slices.Sorted(maps.Keys(changes)) {
		err := s.updateShard(ctx, shard, func(orders map[string]OpenEntry) bool {
			changed := false
			for id, c := range changes[shard] {
				cur, ok := orders[id]
				switch {
				case !ok:
					// Taken out meanwhile (the order finished): never put it back.
				case c.drop:
					delete(orders, id)
					changed = true
				case cur.same(c.seen):
					orders[id] = c.next
					changed = true
				}
			}
			return changed
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("recording the SLA sweep: %w", err))
		}
	}
	return res, errors.Join(errs...)
}

// redrive publishes the order's order.placed again, and its order.cancel-requested if the customer asked to
// cancel: a re-drive must not walk an order the customer wanted stopped to SHIPPED because shipping never
// heard of the request. Both keep their deterministic ids, so whoever already has them deduplicates.
func (s *Service) redrive(ctx context.Context, o Order) error {
	evs := []events.Event{o.placedEvent()}
	if o.CancelRequestedAt != nil {
		evs = append(evs, cancelRequestedEvent(o.ID, *o.CancelRequestedAt))
	}
	if err := s.pub.Publish(ctx, evs...); err != nil {
		return fmt.Errorf("re-driving order %s: %w", o.ID, err)
	}
	return nil
}
