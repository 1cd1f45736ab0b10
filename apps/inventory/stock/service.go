package stock

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/failpoint"
	"orderflow/internal/platform/logging"
)

// maxAttempts bounds optimistic-concurrency retries before the caller is asked to retry later.
const maxAttempts = 50

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Service implements the inventory use cases.
type Service struct {
	products     ProductStore
	reservations ReservationStore
	catalog      CatalogStore
	pub          Publisher
	ttl          time.Duration
	now          func() time.Time
}

// NewService wires the use cases to their ports. ttl is how long a reservation waits for payment.
func NewService(products ProductStore, reservations ReservationStore, catalog CatalogStore,
	pub Publisher, ttl time.Duration, now func() time.Time) *Service {
	return &Service{products: products, reservations: reservations, catalog: catalog, pub: pub, ttl: ttl, now: now}
}

const catalogKey = "catalog"

func productKey(sku string) string         { return "product/" + sku }
func reservationKey(orderID string) string { return "reservation/" + orderID }
func isNotFound(err error) bool            { return errors.Is(err, kv.ErrNotFound) }
func isConflict(err error) bool            { return errors.Is(err, kv.ErrConflict) }
func productKeys(skus []string) []string {
	keys := make([]string, len(skus))
	for i, sku := range skus {
		keys[i] = productKey(sku)
	}
	return keys
}

func contended(what string) error {
	return apperr.New(apperr.Unavailable, "too many concurrent updates of %s; retry", what)
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
	for attempt := 0; attempt < maxAttempts; attempt++ {
		p, etag, err := s.products.Get(ctx, productKey(sku))
		switch {
		case isNotFound(err):
			p = Product{SKU: sku, Name: in.Name, PriceCents: in.PriceCents, Available: in.Available}
			err = s.products.Create(ctx, productKey(sku), p)
			if err == nil {
				return p, true, s.addToCatalog(ctx, sku)
			}
		case err != nil:
			return Product{}, false, err
		default:
			p.Name, p.PriceCents, p.Available = in.Name, in.PriceCents, in.Available
			err = s.products.Update(ctx, productKey(sku), p, etag)
			if err == nil {
				// The catalog entry is normally there already; this repairs a create that died before indexing.
				return p, false, s.addToCatalog(ctx, sku)
			}
		}
		if !isConflict(err) {
			return Product{}, false, fmt.Errorf("saving product %s: %w", sku, err)
		}
	}
	return Product{}, false, contended("product " + sku)
}

func (s *Service) addToCatalog(ctx context.Context, sku string) error {
	return kv.Mutate(ctx, s.catalog, catalogKey, maxAttempts, func(c *Catalog, _ bool) bool {
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
	if isNotFound(err) {
		return Product{}, apperr.New(apperr.NotFound, "product %s not found", sku)
	}
	return p, err
}

// Products lists the catalog sorted by SKU.
func (s *Service) Products(ctx context.Context) ([]Product, error) {
	c, _, err := s.catalog.Get(ctx, catalogKey)
	if isNotFound(err) {
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
	} else if err != nil && !isNotFound(err) {
		return false, err
	}
	for _, p := range products {
		err := s.products.Create(ctx, productKey(p.SKU), Product{SKU: p.SKU, Name: p.Name, PriceCents: p.PriceCents, Available: p.Available})
		if err != nil && !isConflict(err) {
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
	if isNotFound(err) {
		return Reservation{}, apperr.New(apperr.NotFound, "no reservation for order %s", orderID)
	}
	return r, err
}

// ------------------------------------------------------------------------------------------ reservations

// OnOrderPlaced reserves the order's stock, or rejects it, exactly once however often the event arrives.
func (s *Service) OnOrderPlaced(ctx context.Context, _ string, d events.OrderPlacedData) error {
	r, _, err := s.reservations.Get(ctx, reservationKey(d.OrderID))
	if err == nil {
		return s.announce(ctx, r)
	}
	if !isNotFound(err) {
		return err
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		r, err := s.tryReserve(ctx, d)
		if isConflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		return s.announce(ctx, r)
	}
	return contended("the stock of order " + d.OrderID)
}

// tryReserve makes one attempt and returns the decision as recorded — possibly a concurrent delivery's.
func (s *Service) tryReserve(ctx context.Context, d events.OrderPlacedData) (Reservation, error) {
	skus := make([]string, len(d.Items))
	keys := make([]string, len(d.Items))
	for i, it := range d.Items {
		skus[i], keys[i] = it.SKU, productKey(it.SKU)
	}
	found, err := s.products.GetMany(ctx, keys)
	if err != nil {
		return Reservation{}, err
	}
	now := s.now().UTC()
	expires := now.Add(s.ttl)
	var (
		lines     = []events.PricedLine{}
		shortages []events.Shortage
		writes    []kv.Write[Product]
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
		if _, held := p.Holds[d.OrderID]; held {
			continue // applied by an earlier, partially failed attempt
		}
		if p.Available < it.Quantity {
			shortages = append(shortages, events.Shortage{SKU: it.SKU, Requested: it.Quantity, Available: p.Available, Known: true})
			continue
		}
		writes = append(writes, kv.Write[Product]{Key: e.Key, Value: p.hold(d.OrderID, Hold{Quantity: it.Quantity, ExpiresAt: expires}), ETag: e.ETag})
	}

	if len(shortages) > 0 {
		if err := s.moveHolds(ctx, d.OrderID, skus, release); err != nil {
			return Reservation{}, err
		}
		return s.record(ctx, Reservation{
			OrderID: d.OrderID, CustomerID: d.CustomerID, Status: Rejected, Payment: d.Payment,
			Shortages: shortages, Reason: describeShortages(shortages), UpdatedAt: now,
		}, skus)
	}
	if len(writes) > 0 {
		if err := s.products.Transact(ctx, writes); err != nil {
			return Reservation{}, err
		}
	}
	return s.record(ctx, Reservation{
		OrderID: d.OrderID, CustomerID: d.CustomerID, Status: Reserved, Lines: lines, TotalCents: total,
		Payment: d.Payment, ReservedAt: now, ExpiresAt: expires, UpdatedAt: now,
	}, skus)
}

// record stores a decision create-only. If another delivery (or a cancellation) recorded one first, that one
// stands, and the holds are brought in line with it.
func (s *Service) record(ctx context.Context, r Reservation, skus []string) (Reservation, error) {
	err := s.reservations.Create(ctx, reservationKey(r.OrderID), r)
	if err == nil {
		failpoint.Inject(ctx, "inventory.after-reserve")
		return r, nil
	}
	if !isConflict(err) {
		return Reservation{}, fmt.Errorf("recording reservation of %s: %w", r.OrderID, err)
	}
	existing, _, err := s.reservations.Get(ctx, reservationKey(r.OrderID))
	if err != nil {
		return Reservation{}, err
	}
	switch existing.Status {
	case Rejected, Cancelled, Released:
		err = s.moveHolds(ctx, r.OrderID, skus, release)
	case Committed:
		err = s.moveHolds(ctx, r.OrderID, skus, commit)
	}
	return existing, err
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

// OnOrderCancelled releases the order's stock (cancelled or expired, and shipping confirmed nothing ships).
// If inventory has not seen the order yet, it records a tombstone so the order is never reserved.
func (s *Service) OnOrderCancelled(ctx context.Context, _ string, d events.OrderCancelledData) error {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		_, _, err := s.reservations.Get(ctx, reservationKey(d.OrderID))
		if !isNotFound(err) {
			return s.release(ctx, d.OrderID, d.Reason, d.CancelledAt)
		}
		tomb := Reservation{OrderID: d.OrderID, Status: Cancelled, Reason: d.Reason, UpdatedAt: s.now().UTC()}
		err = s.reservations.Create(ctx, reservationKey(d.OrderID), tomb)
		if err == nil || !isConflict(err) {
			return err
		}
	}
	return contended("reservation " + d.OrderID)
}

// OnPaymentFailed releases the order's stock.
func (s *Service) OnPaymentFailed(ctx context.Context, _ string, d events.PaymentFailedData) error {
	return s.release(ctx, d.OrderID, events.ReasonPaymentFailed, d.FailedAt)
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

// OnShipmentDispatched commits the held stock: it has left the warehouse.
func (s *Service) OnShipmentDispatched(ctx context.Context, _ string, d events.ShipmentDispatchedData) error {
	r, err := s.transition(ctx, d.OrderID, Committed, "", Reserved, Expiring)
	if err != nil {
		return err
	}
	if r.Status != Committed {
		logging.From(ctx).Errorf("dispatch of order %s whose reservation is %s; shipping must not dispatch stopped orders", d.OrderID, r.Status)
		return nil
	}
	return s.moveHolds(ctx, d.OrderID, r.skus(), commit)
}

// transition moves the reservation to status `to` if it is in one of `from` (compare-and-set on its ETag)
// and returns it as it stands afterwards. A reservation already in `to` is returned unchanged, so callers
// finish the work a crashed delivery left half done.
func (s *Service) transition(ctx context.Context, orderID string, to Status, reason string, from ...Status) (Reservation, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		r, etag, err := s.reservations.Get(ctx, reservationKey(orderID))
		if isNotFound(err) {
			return Reservation{}, apperr.New(apperr.Unavailable, "no reservation for order %s yet", orderID)
		}
		if err != nil || !slices.Contains(from, r.Status) {
			return r, err
		}
		r.Status, r.UpdatedAt = to, s.now().UTC()
		if reason != "" {
			r.Reason = reason
		}
		err = s.reservations.Update(ctx, reservationKey(orderID), r, etag)
		if err == nil {
			return r, nil
		}
		if !isConflict(err) {
			return Reservation{}, err
		}
	}
	return Reservation{}, contended("reservation " + orderID)
}

// ------------------------------------------------------------------------------------------------ holds

type holdMove int

const (
	release holdMove = iota // held → available
	commit                  // held → committed
)

func (p Product) hold(orderID string, h Hold) Product {
	p.Holds = maps.Clone(p.Holds)
	if p.Holds == nil {
		p.Holds = map[string]Hold{}
	}
	p.Holds[orderID] = h
	p.Available -= h.Quantity
	p.Reserved += h.Quantity
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

// moveHolds removes the order's holds from the given SKUs, releasing or committing their quantity. SKUs
// without a hold for the order are left alone, which makes the operation idempotent.
func (s *Service) moveHolds(ctx context.Context, orderID string, skus []string, move holdMove) error {
	keys := productKeys(skus)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		found, err := s.products.GetMany(ctx, keys)
		if err != nil {
			return err
		}
		var writes []kv.Write[Product]
		for _, k := range keys {
			if e, ok := found[k]; ok {
				if _, held := e.Value.Holds[orderID]; held {
					writes = append(writes, kv.Write[Product]{Key: k, Value: e.Value.unhold(orderID, move), ETag: e.ETag})
				}
			}
		}
		if len(writes) == 0 {
			return nil
		}
		err = s.products.Transact(ctx, writes)
		if err == nil {
			return nil
		}
		if !isConflict(err) {
			return err
		}
	}
	return contended("the stock of order " + orderID)
}
