package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
	"orderflow/internal/platform/failpoint"
	"orderflow/internal/platform/logging"
)

// Limits on what a single order may contain.
const (
	MaxItems        = 50
	MaxQuantity     = 1000
	MaxListedOrders = 500
	// ClaimTTL is how long an Idempotency-Key is remembered.
	ClaimTTL = 24 * time.Hour
)

var (
	idPattern    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	skuPattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	tokenPattern = regexp.MustCompile(`^tok_[A-Za-z0-9_]{1,64}$`)
	keyPattern   = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)
)

// Service implements the orders use cases.
type Service struct {
	orders  Store
	claims  ClaimStore
	indexes IndexStore
	open    OpenIndexStore
	pub     Publisher
	// sla is how long an open order may go without a change before the sweep re-drives it.
	sla   time.Duration
	now   func() time.Time
	newID func() string
}

// NewService wires the use cases to their ports. sla is ORDER_SLA (see Sweep); now and newID are injectable
// for tests.
func NewService(orders Store, claims ClaimStore, indexes IndexStore, open OpenIndexStore, pub Publisher, sla time.Duration,
	now func() time.Time, newID func() string) *Service {
	return &Service{orders: orders, claims: claims, indexes: indexes, open: open, pub: pub, sla: sla, now: now, newID: newID}
}

func orderKey(id string) string { return "order/" + id }

// claimKey scopes an Idempotency-Key to its customer, so a key another customer used is a fresh key here,
// not a 409 that would tell the caller it exists. Customer ids hold no "/", so the key is unambiguous.
func claimKey(customerID, key string) string { return "idempotency/" + customerID + "/" + key }
func customerKey(id string) string           { return "customer/" + id + "/orders" }
func notYetKnown(id string) error {
	return apperr.New(apperr.Unavailable, "order %s is not known yet", id)
}
func invalidLimit() error {
	return apperr.Invalidf("limit", "must be between 1 and %d", MaxListedOrders)
}

// PlaceCommand is a customer's request to place an order.
type PlaceCommand struct {
	CustomerID     string               `json:"customerId"`
	Email          string               `json:"email"`
	Items          []events.Item        `json:"items"`
	Payment        events.PaymentMethod `json:"payment"`
	IdempotencyKey string               `json:"-"`
}

// Validate checks a command field by field, naming the first offending field.
func (c PlaceCommand) Validate() error {
	if !idPattern.MatchString(c.CustomerID) {
		return apperr.Invalidf("customerId", "is required: 1-64 letters, digits or . _ : -")
	}
	if addr, err := mail.ParseAddress(c.Email); err != nil || addr.Address != c.Email || len(c.Email) > 254 {
		return apperr.Invalidf("email", "must be a plain e-mail address such as ada@example.com")
	}
	if len(c.Items) == 0 || len(c.Items) > MaxItems {
		return apperr.Invalidf("items", "must hold between 1 and %d items", MaxItems)
	}
	seen := map[string]bool{}
	for i, it := range c.Items {
		if !skuPattern.MatchString(it.SKU) {
			return apperr.Invalidf(fmt.Sprintf("items[%d].sku", i), "is required: 1-64 letters, digits or . _ -")
		}
		if seen[it.SKU] {
			return apperr.Invalidf(fmt.Sprintf("items[%d].sku", i), "%s appears twice; combine the quantities", it.SKU)
		}
		seen[it.SKU] = true
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return apperr.Invalidf(fmt.Sprintf("items[%d].quantity", i), "must be between 1 and %d", MaxQuantity)
		}
	}
	if !tokenPattern.MatchString(c.Payment.CardToken) {
		return apperr.Invalidf("payment.cardToken", "is required and must look like tok_visa")
	}
	if c.IdempotencyKey != "" && !keyPattern.MatchString(c.IdempotencyKey) {
		return apperr.Invalidf("Idempotency-Key", "must be 1-255 visible ASCII characters")
	}
	return nil
}

func (c PlaceCommand) fingerprint() string {
	b, _ := json.Marshal(c) // a struct of strings, ints and slices always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Placement is what Place did with a valid request.
type Placement int

const (
	// Created: the order was announced and stored.
	Created Placement = iota + 1
	// Announced: the order was announced but storing it failed. It is placed all the same — the saga is under
	// way — and orders' own order.placed subscription stores it (OnPlaced); until then reading it finds nothing.
	Announced
	// Replayed: an Idempotency-Key replay of an earlier identical request, which created this order.
	Replayed
)

// Place creates an order and announces it.
//
// order.placed is published before the order is stored: if the process dies in between, the event is out and
// orders' own subscription to order.placed stores the order (OnPlaced), so an order the rest of the saga works
// on always exists here too. Storing first would need an outbox to survive the same crash. For the same
// reason a failure to store after announcing is not an error: the order is placed, and answering with a
// failure would make a client without an Idempotency-Key place — and pay for — it a second time.
func (s *Service) Place(ctx context.Context, cmd PlaceCommand) (Order, Placement, error) {
	if err := cmd.Validate(); err != nil {
		return Order{}, 0, err
	}
	fp := cmd.fingerprint()
	id := s.newID()
	now := s.now().UTC()
	placement := Created
	if cmd.IdempotencyKey != "" {
		claim, fresh, err := s.claim(ctx, claimKey(cmd.CustomerID, cmd.IdempotencyKey), Claim{OrderID: id, Fingerprint: fp, PlacedAt: now})
		if err != nil {
			return Order{}, 0, err
		}
		id = claim.OrderID
		if !claim.PlacedAt.IsZero() {
			now = claim.PlacedAt
		}
		if !fresh {
			placement = Replayed
			existing, _, err := s.orders.Get(ctx, orderKey(id))
			if err == nil {
				// The first attempt may have died before indexing; the replay repairs that too.
				if err := s.index(ctx, existing.CustomerID, existing.ID); err != nil {
					logging.From(ctx).WithError(err).Warn("indexing replayed order failed; the order.placed subscription will retry")
				}
				return existing, Replayed, nil
			}
			if !errors.Is(err, kv.ErrNotFound) {
				return Order{}, 0, fmt.Errorf("reading order %s: %w", id, err)
			}
			// The first request claimed the key but did not finish: finish it now.
		}
	}

	o := Order{
		ID: id, CustomerID: cmd.CustomerID, Email: cmd.Email, Items: cmd.Items, Payment: cmd.Payment,
		Status: Pending, History: []Change{{Status: Pending, At: now}},
		CreatedAt: now, UpdatedAt: now, Fingerprint: fp,
	}
	if err := s.pub.Publish(ctx, o.placedEvent()); err != nil {
		return Order{}, 0, fmt.Errorf("announcing order %s: %w", id, err)
	}
	failpoint.Inject(ctx, "orders.after-announce")
	// A conflict means our own order.placed subscription (or a concurrent replay) stored the same order first;
	// the response still shows the order as this request created it. That subscription also lists the order
	// under its customer, a few milliseconds later.
	if _, err := kv.CreateIfAbsent(ctx, s.orders, orderKey(id), o); err != nil {
		logging.From(ctx).WithError(err).Warn("storing the announced order failed; its order.placed subscription will store it")
		return o, Announced, nil
	}
	// Indexed only once stored, so the sweep always finds what it lists. OnPlaced indexes it too: a failure
	// here, or a crash just before, only delays the SLA watch by a delivery.
	if err := s.markOpen(ctx, id); err != nil {
		logging.From(ctx).WithError(err).Warn("indexing the open order failed; its order.placed subscription will index it")
	}
	return o, placement, nil
}

// claim records key (a claimKey) → (orderID, fingerprint) unless the key is already claimed. fresh reports a
// new claim.
func (s *Service) claim(ctx context.Context, key string, c Claim) (Claim, bool, error) {
	existing, fresh, err := kv.CreateOrGet(ctx, s.claims, key, c, kv.WithTTL(ClaimTTL))
	if err != nil {
		return Claim{}, false, fmt.Errorf("claiming idempotency key: %w", err)
	}
	if fresh {
		return c, true, nil
	}
	if existing.Fingerprint != c.Fingerprint {
		return Claim{}, false, &apperr.Error{Code: apperr.Conflict, Field: "Idempotency-Key",
			Message: "this key was already used with a different request body"}
	}
	return existing, false, nil
}

// index puts orderID at the front of the customer's index (idempotent).
func (s *Service) index(ctx context.Context, customerID, orderID string) error {
	return kv.Mutate(ctx, s.indexes, customerKey(customerID), func(idx *CustomerIndex, _ bool) bool {
		if slices.Contains(idx.OrderIDs, orderID) {
			return false
		}
		ids := append([]string{orderID}, idx.OrderIDs...)
		idx.OrderIDs = ids[:min(len(ids), MaxListedOrders)]
		return true
	})
}

// Get returns one order.
func (s *Service) Get(ctx context.Context, id string) (Order, error) {
	if !idPattern.MatchString(id) {
		return Order{}, apperr.New(apperr.NotFound, "order %s not found", id)
	}
	o, _, err := s.orders.Get(ctx, orderKey(id))
	if errors.Is(err, kv.ErrNotFound) {
		return Order{}, apperr.New(apperr.NotFound, "order %s not found", id)
	}
	return o, err
}

// GetFor returns one of customerID's orders. Another customer's order is not found, exactly like an id that
// does not exist, so order ids cannot be probed.
func (s *Service) GetFor(ctx context.Context, customerID, id string) (Order, error) {
	o, err := s.Get(ctx, id)
	if err == nil && o.CustomerID != customerID {
		return Order{}, apperr.New(apperr.NotFound, "order %s not found", id)
	}
	return o, err
}

// List returns up to limit of a customer's orders, newest first.
func (s *Service) List(ctx context.Context, customerID string, limit int) ([]Order, error) {
	if !idPattern.MatchString(customerID) {
		return nil, apperr.Invalidf("customerId", "is required: 1-64 letters, digits or . _ : -")
	}
	if limit < 1 || limit > MaxListedOrders {
		return nil, invalidLimit()
	}
	idx, _, err := s.indexes.Get(ctx, customerKey(customerID))
	if errors.Is(err, kv.ErrNotFound) {
		return []Order{}, nil
	}
	if err != nil {
		return nil, err
	}
	ids := idx.OrderIDs[:min(len(idx.OrderIDs), limit)]
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = orderKey(id)
	}
	found, err := s.orders.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := kv.InKeyOrder(found, keys)
	slices.SortStableFunc(out, func(a, b Order) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// RequestCancel asks the saga to cancel an order. It only publishes order.cancel-requested: shipping, which
// alone knows whether the parcel has left, decides, and the order becomes CANCELLED (or SHIPPED) from its
// answer. That is why the API answers 202 Accepted. Only the customer who placed the order may cancel it: for
// anyone else it is not found (see GetFor).
func (s *Service) RequestCancel(ctx context.Context, customerID, id string) (Order, error) {
	o, err := s.GetFor(ctx, customerID, id)
	if err != nil {
		return Order{}, err
	}
	if !o.Cancellable() {
		return Order{}, apperr.New(apperr.Conflict, "order %s is %s and can no longer be cancelled", id, o.Status)
	}
	at := s.now().UTC()
	if o.CancelRequestedAt != nil {
		at = *o.CancelRequestedAt
	}
	if err := s.pub.Publish(ctx, cancelRequestedEvent(id, at)); err != nil {
		return Order{}, fmt.Errorf("requesting cancellation of %s: %w", id, err)
	}
	return o, nil
}

// cancelRequestedEvent is order.cancel-requested as first requested at at, so every publication of it is the
// same event.
func cancelRequestedEvent(orderID string, at time.Time) events.Event {
	return events.New(events.OrderCancelRequested, orderID, at, events.OrderCancelRequestedData{OrderID: orderID, RequestedAt: at})
}
