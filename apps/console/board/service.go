package board

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/logging"
)

// Limits of what the console keeps.
const (
	// Shards is how many index records the board's order ids are spread over, so that concurrent deliveries
	// of different orders rarely contend on one record.
	Shards = 16
	// MaxBoard bounds BOARD_SIZE.
	MaxBoard = 2000
	// MaxViewers bounds the live connections (each is a goroutine and a set of changed ids).
	MaxViewers = 200
)

// Shard is one index record: the orders it lists, newest first. The Redis state store cannot list keys, so
// the console keeps this index itself, bounded: an order that falls off it is deleted from the store.
type Shard struct {
	Entries []Entry `json:"entries"`
}

// Entry is one order in a Shard, with the time it entered the board.
type Entry struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

func orderKey(id string) string { return "order/" + id }

func shardKey(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return "board/" + strconv.Itoa(int(h.Sum32()%Shards))
}

func shardKeys() []string {
	keys := make([]string, Shards)
	for i := range keys {
		keys[i] = "board/" + strconv.Itoa(i)
	}
	return keys
}

// Service keeps the board: every order's record in the store, the newest of them in memory (the window), and
// the viewers watching them live.
type Service struct {
	orders OrderStore
	index  IndexStore
	// size is how many orders the board shows (BOARD_SIZE); the index keeps twice as many per shard's share.
	size     int
	perShard int
	now      func() time.Time
	window   *window
	meter    *meter

	mu      sync.Mutex
	viewers map[*Viewer]struct{}
	// stock is signalled when an event changed some SKU's numbers, for the live stock page.
	stock chan struct{}
}

// NewService returns a board of size orders over its stores.
func NewService(orders OrderStore, index IndexStore, size int, now func() time.Time) (*Service, error) {
	if size < 1 || size > MaxBoard {
		return nil, fmt.Errorf("board size must be between 1 and %d, got %d", MaxBoard, size)
	}
	return &Service{
		orders: orders, index: index, size: size, perShard: max(8, 2*size/Shards+1), now: now,
		window: newWindow(size), meter: newMeter(now), viewers: map[*Viewer]struct{}{}, stock: make(chan struct{}, 1),
	}, nil
}

// Size is how many orders the board shows.
func (s *Service) Size() int { return s.size }

// Load fills the window from the store, so a restarted console shows the board it had.
func (s *Service) Load(ctx context.Context) error {
	shards, err := s.index.GetMany(ctx, shardKeys())
	if err != nil {
		return fmt.Errorf("reading the board's index: %w", err)
	}
	var entries []Entry
	for _, sh := range shards {
		entries = append(entries, sh.Value.Entries...)
	}
	slices.SortFunc(entries, func(a, b Entry) int { return b.At.Compare(a.At) })
	entries = entries[:min(len(entries), s.size)]
	for chunk := range slices.Chunk(entries, 100) {
		keys := make([]string, len(chunk))
		for i, e := range chunk {
			keys[i] = orderKey(e.ID)
		}
		found, err := s.orders.GetMany(ctx, keys)
		if err != nil {
			return fmt.Errorf("reading the board's orders: %w", err)
		}
		for _, e := range found {
			s.window.put(e.Value)
		}
	}
	return nil
}

// Apply records one event. It is safe under redelivery, concurrent duplicates and any arrival order: the
// record changes under its ETag, an event id already recorded changes nothing, and the status is derived
// from the set of events (see the package doc). Every delivery also makes sure the order is in the index, so
// a crash between the two writes is repaired by the redelivery.
func (s *Service) Apply(ctx context.Context, e Event) error {
	id := e.OrderID()
	if id == "" || e.ID == "" {
		return apperr.Invalidf("data.orderId", "is required")
	}
	receivedAt := s.now()
	type result struct {
		order   Order
		before  Status
		changed bool
	}
	res, err := kv.Decide(ctx, s.orders, orderKey(id), func(o *Order, exists bool) (result, bool, error) {
		before := o.Status
		if !exists {
			before = ""
		}
		changed := o.apply(e, receivedAt)
		return result{*o, before, changed}, changed, nil
	})
	if err != nil {
		return fmt.Errorf("recording %s: %w", e.ID, err)
	}
	if err := s.list(ctx, res.order); err != nil {
		return err
	}
	s.window.put(res.order)
	if !res.changed {
		return nil
	}
	s.meter.count(e.Kind, res.before, res.order.Status)
	s.changed(res.order)
	switch e.Kind {
	case events.StockReserved, events.StockReleased, events.ShipmentDispatched:
		select {
		case s.stock <- struct{}{}:
		default:
		}
	}
	return nil
}

// list puts the order in its index shard unless it is there, and deletes the records of the orders the shard
// no longer has room for.
func (s *Service) list(ctx context.Context, o Order) error {
	entry := Entry{ID: o.ID, At: o.Since()}
	evicted, err := kv.Decide(ctx, s.index, shardKey(o.ID), func(sh *Shard, _ bool) ([]string, bool, error) {
		if slices.ContainsFunc(sh.Entries, func(e Entry) bool { return e.ID == entry.ID }) {
			return nil, false, nil
		}
		entries := append(slices.Clone(sh.Entries), entry)
		slices.SortStableFunc(entries, func(a, b Entry) int { return b.At.Compare(a.At) })
		var out []string
		for _, e := range entries[min(len(entries), s.perShard):] {
			out = append(out, e.ID)
		}
		sh.Entries = entries[:min(len(entries), s.perShard)]
		return out, true, nil
	})
	if err != nil {
		return fmt.Errorf("listing order %s on the board: %w", o.ID, err)
	}
	for _, id := range evicted {
		s.window.drop(id)
		// Best effort: a record left behind is only storage, and the board no longer lists it.
		if err := s.orders.Delete(ctx, orderKey(id), ""); err != nil && !errors.Is(err, kv.ErrNotFound) {
			logging.From(ctx).WithError(err).WithField(logging.FieldOrderID, id).Warn("deleting an order that left the board failed")
		}
	}
	return nil
}

// Filter is who is looking: an operator sees every order, a customer their own.
type Filter struct {
	Subject string
	All     bool
}

// Sees reports whether the filter shows o.
func (f Filter) Sees(o Order) bool { return f.All || (o.CustomerID != "" && o.CustomerID == f.Subject) }

// Snapshot is the board as one viewer sees it.
type Snapshot struct {
	Orders     []Order
	Counts     map[Status]int
	Throughput Throughput
}

// Board returns the newest orders f sees, newest first, with their counts by status.
func (s *Service) Board(f Filter) Snapshot {
	orders := s.window.list(f)
	counts := map[Status]int{}
	for _, o := range orders {
		counts[o.Status]++
	}
	return Snapshot{Orders: orders, Counts: counts, Throughput: s.meter.rates()}
}

// Rows returns the current records of ids that f sees (those still on the board), newest first.
func (s *Service) Rows(f Filter, ids []string) []Order {
	var out []Order
	for _, id := range ids {
		if o, ok := s.window.get(id); ok && f.Sees(o) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, compareNewest)
	return out
}

// Order returns the console's record of one order, from the window or else the store.
func (s *Service) Order(ctx context.Context, id string) (Order, bool, error) {
	if o, ok := s.window.get(id); ok {
		return o, true, nil
	}
	o, _, err := s.orders.Get(ctx, orderKey(id))
	if errors.Is(err, kv.ErrNotFound) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, err
	}
	return o, true, nil
}

// StockChanges is signalled when an event moved some SKU's stock (coalesced: one signal may stand for many).
func (s *Service) StockChanges() <-chan struct{} { return s.stock }

// ErrTooManyViewers is returned by Watch when MaxViewers are watching already.
var ErrTooManyViewers = apperr.New(apperr.Unavailable, "too many live viewers; reload the page later")

// Viewer is one live page: the ids of the orders that changed since it last looked, signalled on Changed.
// Its memory is bounded by the board: it keeps ids, not events, and each id once.
type Viewer struct {
	filter Filter
	signal chan struct{}
	mu     sync.Mutex
	dirty  map[string]struct{}
}

// Changed is signalled when an order the viewer sees changed.
func (v *Viewer) Changed() <-chan struct{} { return v.signal }

// Take returns the ids that changed since the last Take.
func (v *Viewer) Take() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := make([]string, 0, len(v.dirty))
	for id := range v.dirty {
		ids = append(ids, id)
	}
	clear(v.dirty)
	return ids
}

// Watch registers a viewer for f; stop unregisters it.
func (s *Service) Watch(f Filter) (v *Viewer, stop func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.viewers) >= MaxViewers {
		return nil, nil, ErrTooManyViewers
	}
	v = &Viewer{filter: f, signal: make(chan struct{}, 1), dirty: map[string]struct{}{}}
	s.viewers[v] = struct{}{}
	return v, func() {
		s.mu.Lock()
		delete(s.viewers, v)
		s.mu.Unlock()
	}, nil
}

func (s *Service) changed(o Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.viewers {
		if !v.filter.Sees(o) {
			continue
		}
		v.mu.Lock()
		if len(v.dirty) < 2*s.size {
			v.dirty[o.ID] = struct{}{}
		}
		v.mu.Unlock()
		select {
		case v.signal <- struct{}{}:
		default:
		}
	}
}

// window is the newest orders in memory, at most size of them.
type window struct {
	mu     sync.RWMutex
	size   int
	orders map[string]Order
}

func newWindow(size int) *window { return &window{size: size, orders: map[string]Order{}} }

// put keeps o unless a newer copy of it is kept already, or the window is full of newer orders.
func (w *window) put(o Order) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.orders[o.ID]; ok {
		if o.Version > old.Version {
			w.orders[o.ID] = o
		}
		return
	}
	if len(w.orders) >= w.size {
		oldest := ""
		for id, cur := range w.orders {
			if oldest == "" || compareNewest(cur, w.orders[oldest]) > 0 {
				oldest = id
			}
		}
		if compareNewest(o, w.orders[oldest]) > 0 {
			return
		}
		delete(w.orders, oldest)
	}
	w.orders[o.ID] = o
}

func (w *window) drop(id string) {
	w.mu.Lock()
	delete(w.orders, id)
	w.mu.Unlock()
}

func (w *window) get(id string) (Order, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	o, ok := w.orders[id]
	return o, ok
}

func (w *window) list(f Filter) []Order {
	w.mu.RLock()
	out := make([]Order, 0, len(w.orders))
	for _, o := range w.orders {
		if f.Sees(o) {
			out = append(out, o)
		}
	}
	w.mu.RUnlock()
	slices.SortFunc(out, compareNewest)
	return out
}

// compareNewest sorts newest first (by the time an order entered the board, then by id).
func compareNewest(a, b Order) int {
	return cmp.Or(b.Since().Compare(a.Since()), cmp.Compare(a.ID, b.ID))
}
