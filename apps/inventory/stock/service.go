package stock

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/failpoint"
)

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Service implements the inventory use cases.
type Service struct {
	products     ProductStore
	reservations ReservationStore
	catalog      CatalogStore
	pub          Publisher
	ttl          time.Duration
	orphanGrace  time.Duration
	now          func() time.Time
}

// NewService wires the use cases to their ports. ttl is how long a reservation waits for payment;
// orphanGrace is how old a hold without an open reservation must be before the sweep takes it back (see
// Sweep), and must exceed the time one delivery of order.placed can take.
func NewService(products ProductStore, reservations ReservationStore, catalog CatalogStore,
	pub Publisher, ttl, orphanGrace time.Duration, now func() time.Time) *Service {
	return &Service{products: products, reservations: reservations, catalog: catalog, pub: pub, ttl: ttl,
		orphanGrace: orphanGrace, now: now}
}

const catalogKey = "catalog"

func productKey(sku string) string         { return "product/" + sku }
func reservationKey(orderID string) string { return "reservation/" + orderID }
func productKeys(skus []string) []string {
	keys := make([]string, len(skus))
	for i, sku := range skus {
		keys[i] = productKey(sku)
	}
	return keys
}

// ---------------------------------------------------------------------------------------------- catalog

// ProductInput is what PUT /v1/products/{sku} sets.
type ProductInput struct {
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Available  int    `json:"available"`
}

// Validate names the first offending field.
func (in ProductInput) Validate() error {
	switch {
	case strings.TrimSpace(in.Name) == "" || len(in.Name) > 200:
		return apperr.Invalidf("name", "is required (1-200 characters)")
	case in.PriceCents < 0 || in.PriceCents > 100_000_000:
		return apperr.Invalidf("priceCents", "must be between 0 and 100000000")
	case in.Available < 0 || in.Available > 10_000_000:
		return apperr.Invalidf("available", "must be between 0 and 10000000")
	}
	return nil
}

func validSKU(sku string) error {
	if !skuPattern.MatchString(sku) {
		return apperr.Invalidf("sku", "must be 1-64 letters, digits or . _ -")
	}
	return nil
}

// PutProduct creates a product or replaces its name, price and available stock; reserved and committed
// stock, which belong to orders in flight, are kept. created reports a new product.
func (s *Service) PutProduct(ctx context.Context, sku string, in ProductInput) (Product, bool, error) {
	if err := validSKU(sku); err != nil {
		return Product{}, false, err
	}
	if err := in.Validate(); err != nil {
		return Product{}, false, err
	}
	type put struct {
		p       Product
		created bool
	}
	res, err := kv.Decide(ctx, s.products, productKey(sku), func(p *Product, exists bool) (put, bool, error) {
		if !exists {
			*p = Product{SKU: sku}
		}
		p.Name, p.PriceCents, p.Available = in.Name, in.PriceCents, in.Available
		return put{p: *p, created: !exists}, true, nil
	})
	if err != nil {
		return Product{}, false, fmt.Errorf("saving product %s: %w", sku, err)
	}
	// On an update the catalog entry is normally there already; this repairs a create that died before indexing.
	return res.p, res.created, s.addToCatalog(ctx, sku)
}

func (s *Service) addToCatalog(ctx context.Context, sku string) error {
	return kv.Mutate(ctx, s.catalog, catalogKey, func(c *Catalog, _ bool) bool {
		if slices.Contains(c.SKUs, sku) {
			return false
		}
		c.SKUs = append(c.SKUs, sku)
		slices.Sort(c.SKUs)
		return true
	})
}

// Product returns one product.
func (s *Service) Product(ctx context.Context, sku string) (Product, error) {
	p, _, err := s.products.Get(ctx, productKey(sku))
	if errors.Is(err, kv.ErrNotFound) {
		return Product{}, apperr.New(apperr.NotFound, "product %s not found", sku)
	}
	return p, err
}

// Products lists the catalog sorted by SKU.
func (s *Service) Products(ctx context.Context) ([]Product, error) {
	c, _, err := s.catalog.Get(ctx, catalogKey)
	if errors.Is(err, kv.ErrNotFound) {
		return []Product{}, nil
	}
	if err != nil {
		return nil, err
	}
	keys := productKeys(c.SKUs)
	found, err := s.products.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	return kv.InKeyOrder(found, keys), nil
}

// SeedProduct is a demo catalog entry.
type SeedProduct struct {
	SKU string
	ProductInput
}

// Seed creates the given products when the catalog is empty, so a new user has something to order.
func (s *Service) Seed(ctx context.Context, products []SeedProduct) (bool, error) {
	if c, _, err := s.catalog.Get(ctx, catalogKey); err == nil && len(c.SKUs) > 0 {
		return false, nil
	} else if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return false, err
	}
	for _, p := range products {
		_, err := kv.CreateIfAbsent(ctx, s.products, productKey(p.SKU), Product{SKU: p.SKU, Name: p.Name, PriceCents: p.PriceCents, Available: p.Available})
		if err != nil {
			return false, fmt.Errorf("seeding %s: %w", p.SKU, err)
		}
		if err := s.addToCatalog(ctx, p.SKU); err != nil {
			return false, fmt.Errorf("seeding %s: %w", p.SKU, err)
		}
	}
	return true, nil
}

// Reservation returns inventory's record of an order.
func (s *Service) Reservation(ctx context.Context, orderID string) (Reservation, error) {
	r, _, err := s.reservations.Get(ctx, reservationKey(orderID))
	if errors.Is(err, kv.ErrNotFound) {
		return Reservation{}, apperr.New(apperr.NotFound, "no reservation for order %s", orderID)
	}
	return r, err
}

// ------------------------------------------------------------------------------------------ reservations

// reserve decides the order, records the decision and returns it as recorded — possibly an earlier or
// concurrent delivery's, or a cancellation's — with the holds brought in line with it.
//
// Holds belong to one decision. Each attempt reads the SKUs, then the reservation record, and only then writes
// holds, under the ETags the SKUs were read at. Holds are released or committed only once a record exists, and
// moving them changes the SKU's ETag; so an attempt either sees the record (and places nothing) or fails its
// write. It writes every SKU of the order, rewriting with a fresh PlacedAt the holds an earlier attempt or a
// concurrent delivery placed: the decision it records then rests on holds its own write pinned, which the
// orphan repair of the sweep (it takes only holds older than the grace period, under the ETags it read) cannot
// take away. A delivery that finds a shortage removes no hold before its rejection is recorded.
func (s *Service) reserve(ctx context.Context, d events.OrderPlacedData) (Reservation, error) {
	skus := make([]string, len(d.Items))
	for i, it := range d.Items {
		skus[i] = it.SKU
	}
	var decision, existing Reservation
	err := kv.MutateMany(ctx, s.products, productKeys(skus), func(found map[string]kv.Entry[Product]) (map[string]Product, error) {
		r, _, err := s.reservations.Get(ctx, reservationKey(d.OrderID))
		switch {
		case err == nil:
			existing = r
			return nil, nil
		case !errors.Is(err, kv.ErrNotFound):
			return nil, err
		}
		existing = Reservation{}
		var holds map[string]Product
		decision, holds = s.decide(d, found)
		return holds, nil
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("reserving the stock of order %s: %w", d.OrderID, err)
	}
	if existing.Status != "" {
		return existing, s.settle(ctx, existing, skus)
	}
	return s.record(ctx, decision, skus)
}

// decide reserves the order if every line fits the stock read, and returns the decision with the SKUs to write
// (none for a rejection).
func (s *Service) decide(d events.OrderPlacedData, found map[string]kv.Entry[Product]) (Reservation, map[string]Product) {
	now := s.now().UTC()
	expires := now.Add(s.ttl)
	var (
		lines     = []events.PricedLine{}
		shortages []events.Shortage
		holds     = map[string]Product{}
		total     int64
	)
	for _, it := range d.Items {
		e, ok := found[productKey(it.SKU)]
		if !ok {
			shortages = append(shortages, events.Shortage{SKU: it.SKU, Requested: it.Quantity})
			continue
		}
		p := e.Value
		line := events.PricedLine{SKU: p.SKU, Name: p.Name, Quantity: it.Quantity, UnitPriceCents: p.PriceCents,
			LineTotalCents: p.PriceCents * int64(it.Quantity)}
		lines, total = append(lines, line), total+line.LineTotalCents
		if h, held := p.Holds[d.OrderID]; held {
			// Placed by an earlier, partially applied attempt or by a concurrent delivery: kept, and pinned.
			holds[e.Key] = p.hold(d.OrderID, Hold{Quantity: h.Quantity, ExpiresAt: expires, PlacedAt: now})
			continue
		}
		if p.Available < it.Quantity {
			shortages = append(shortages, events.Shortage{SKU: it.SKU, Requested: it.Quantity, Available: p.Available, Known: true})
			continue
		}
		holds[e.Key] = p.hold(d.OrderID, Hold{Quantity: it.Quantity, ExpiresAt: expires, PlacedAt: now})
	}
	if len(shortages) > 0 {
		return Reservation{
			OrderID: d.OrderID, CustomerID: d.CustomerID, Status: Rejected, Payment: d.Payment,
			Shortages: shortages, Reason: describeShortages(shortages), UpdatedAt: now,
		}, nil
	}
	return Reservation{
		OrderID: d.OrderID, CustomerID: d.CustomerID, Status: Reserved, Lines: lines, TotalCents: total,
		Payment: d.Payment, ReservedAt: now, ExpiresAt: expires, UpdatedAt: now,
	}, holds
}

// record stores a decision create-only. If another delivery (or a cancellation) recorded one first, that one
// stands. Either way the holds are then brought in line with the recorded decision.
func (s *Service) record(ctx context.Context, r Reservation, skus []string) (Reservation, error) {
	failpoint.Inject(ctx, "inventory.before-record")
	stands, created, err := kv.CreateOrGet(ctx, s.reservations, reservationKey(r.OrderID), r)
	if err != nil {
		return Reservation{}, fmt.Errorf("recording reservation of %s: %w", r.OrderID, err)
	}
	if created {
		failpoint.Inject(ctx, "inventory.after-reserve")
	}
	return stands, s.settle(ctx, stands, skus)
}

// settle brings the order's holds on skus in line with its recorded decision: an open reservation (RESERVED,
// EXPIRING) keeps them — never removed, whoever placed them — and any other status has none, so they go back
// to available, or to committed if the stock shipped. Once the record exists nobody places a hold for the order
// (see reserve), so the holds found here are the decision's own, left by an unfinished move or by a delivery
// that lost the race to record.
func (s *Service) settle(ctx context.Context, r Reservation, skus []string) error {
	switch r.Status {
	case Rejected, Cancelled, Released:
		return s.moveHolds(ctx, r.OrderID, skus, release)
	case Committed:
		return s.moveHolds(ctx, r.OrderID, skus, commit)
	}
	return nil
}

// announce publishes what the reservation's state implies. Redeliveries call it again: the deterministic event
// ids make a second publication harmless, and it repairs a publication lost to a crash.
func (s *Service) announce(ctx context.Context, r Reservation) error {
	switch r.Status {
	case Reserved, Expiring:
		return s.pub.Publish(ctx, events.New(events.StockReserved, r.OrderID, r.ReservedAt, events.StockReservedData{
			OrderID: r.OrderID, CustomerID: r.CustomerID, Lines: r.Lines, TotalCents: r.TotalCents,
			Currency: events.Currency, Payment: r.Payment, ReservedAt: r.ReservedAt, ExpiresAt: r.ExpiresAt,
		}))
	case Rejected:
		return s.pub.Publish(ctx, events.New(events.StockRejected, r.OrderID, r.UpdatedAt, events.StockRejectedData{
			OrderID: r.OrderID, Reason: r.Reason, Shortages: r.Shortages, RejectedAt: r.UpdatedAt,
		}))
	}
	return nil
}

func describeShortages(shortages []events.Shortage) string {
	parts := make([]string, len(shortages))
	for i, sh := range shortages {
		if !sh.Known {
			parts[i] = sh.SKU + " is not in the catalog"
		} else {
			parts[i] = fmt.Sprintf("%s: %d requested, %d available", sh.SKU, sh.Requested, sh.Available)
		}
	}
	return strings.Join(parts, "; ")
}

// releaseStrayHolds releases every hold of the order, wherever it is. Only for an order whose record says it
// holds nothing and whose SKUs are unknown: it reads the whole catalog.
func (s *Service) releaseStrayHolds(ctx context.Context, orderID string) error {
	var skus []string
	err := s.eachProduct(ctx, func(e kv.Entry[Product]) {
		if _, held := e.Value.Holds[orderID]; held {
			skus = append(skus, e.Value.SKU)
		}
	})
	if err != nil {
		return fmt.Errorf("finding the holds of order %s: %w", orderID, err)
	}
	return s.moveHolds(ctx, orderID, skus, release)
}

// release moves a held reservation to RELEASED, then its holds back to available, then announces it.
func (s *Service) release(ctx context.Context, orderID, reason string, at time.Time) error {
	r, err := s.transition(ctx, orderID, Released, reason, Reserved, Expiring)
	if err != nil || r.Status != Released {
		return err
	}
	if err := s.moveHolds(ctx, orderID, r.skus(), release); err != nil {
		return err
	}
	return s.pub.Publish(ctx, events.New(events.StockReleased, orderID, at, events.StockReleasedData{
		OrderID: orderID, Reason: r.Reason, Lines: r.items(), ReleasedAt: at.UTC(),
	}))
}

// transition moves the reservation to status `to` if it is in one of `from` (compare-and-set on its ETag)
// and returns it as it stands afterwards. A reservation already in `to` is returned unchanged, so callers
// finish the work a crashed delivery left half done.
func (s *Service) transition(ctx context.Context, orderID string, to Status, reason string, from ...Status) (Reservation, error) {
	return kv.Decide(ctx, s.reservations, reservationKey(orderID), func(r *Reservation, exists bool) (Reservation, bool, error) {
		if !exists {
			return Reservation{}, false, apperr.New(apperr.Unavailable, "no reservation for order %s yet", orderID)
		}
		if !slices.Contains(from, r.Status) {
			return *r, false, nil
		}
		r.Status, r.UpdatedAt = to, s.now().UTC()
		if reason != "" {
			r.Reason = reason
		}
		return *r, true, nil
	})
}

// moveHolds removes the order's holds from the given SKUs, releasing or committing their quantity. SKUs
// without a hold for the order are left alone, which makes the operation idempotent. Callers move holds only
// after the reservation record says so.
func (s *Service) moveHolds(ctx context.Context, orderID string, skus []string, move holdMove) error {
	if len(skus) == 0 {
		return nil
	}
	err := kv.MutateMany(ctx, s.products, productKeys(skus), func(found map[string]kv.Entry[Product]) (map[string]Product, error) {
		moved := map[string]Product{}
		for k, e := range found {
			if _, held := e.Value.Holds[orderID]; held {
				moved[k] = e.Value.unhold(orderID, move)
			}
		}
		return moved, nil
	})
	if err != nil {
		return fmt.Errorf("moving the holds of order %s: %w", orderID, err)
	}
	return nil
}
