// Package notify is the notifications service's domain: which order events become which e-mails, and the
// per-order ledger that guarantees exactly one e-mail per (order, event), never one that contradicts the
// outcome the customer was already told about, under at-least-once delivery, concurrent duplicates,
// reordering and crashes.
package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
)

const (
	// sendTimeout bounds one delivery's attempt to send an e-mail, so that its claim can safely expire.
	sendTimeout = 15 * time.Second
	// claimLease is how long a claim on an e-mail excludes other deliveries. A claim older than that belongs to
	// an attempt that died (its send was bounded by sendTimeout) and is taken over by the redelivery. It must stay
	// well inside the sidecar's delivery retries (about a minute), or the redelivery would be dead-lettered
	// while waiting for it.
	claimLease = sendTimeout + 5*time.Second
	// markSentPatience is how long a delivery keeps trying to record an e-mail it has sent while the store is
	// unavailable (its sidecar restarting, the store paused): giving up at once would leave the claim to expire
	// and the redelivery to send the e-mail again. It stays well below claimLease, so no redelivery can take
	// the claim over while this delivery still tries.
	markSentPatience = 10 * time.Second
)

// Recipient is who hears about an order, learnt from order.placed.
type Recipient struct {
	CustomerID string `json:"customerId"`
	Email      string `json:"email"`
}

// MailState is where one e-mail of the ledger is.
type MailState string

// Mail states. An e-mail is recorded on the first delivery of its event and only ever moves forward:
// waiting → sending → sent, or straight to withheld.
const (
	// StateWaiting: the event arrived before order.placed, which carries the address; order.placed sends it.
	StateWaiting MailState = "waiting_for_recipient"
	// StateSending: to be sent, or being sent by the delivery holding a fresh claim.
	StateSending MailState = "sending"
	// StateSent: handed to the e-mail binding.
	StateSent MailState = "sent"
	// StateWithheld: the event contradicts the outcome the customer was already told about; no e-mail.
	StateWithheld MailState = "withheld"
)

// Mail is one e-mail of an order, rendered when its event first arrived so order.placed can send it later.
type Mail struct {
	Event   string    `json:"event"`
	Subject string    `json:"subject"`
	Body    string    `json:"body"`
	State   MailState `json:"state"`
	// ClaimedAt marks a send in progress (claim before send): while fresh, no other delivery sends this e-mail.
	ClaimedAt *time.Time `json:"claimedAt,omitempty"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
}

// Ledger is everything notifications knows about one order's e-mails. Keeping it in one record serializes,
// on its ETag, every decision about them: who the recipient is, which outcome the customer hears about, and
// which delivery sends which e-mail.
type Ledger struct {
	OrderID   string     `json:"orderId"`
	Recipient *Recipient `json:"recipient,omitempty"`
	// Outcome is the topic of the first terminal event recorded: the fate the customer is told about.
	Outcome string           `json:"outcome,omitempty"`
	Mails   map[string]*Mail `json:"mails"`
}

// Sent is an e-mail sent about an order, as the log shows it.
type Sent struct {
	OrderID string    `json:"orderId"`
	Event   string    `json:"event"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	SentAt  time.Time `json:"sentAt"`
}

// Unsent is an e-mail recorded but not sent: waiting for its recipient, being sent, or withheld.
type Unsent struct {
	Event string    `json:"event"`
	State MailState `json:"state"`
}

// Email is a message to deliver. ID is deterministic per (order, event): a re-send after a crash produces the
// same message, and mailers that support it use it to deduplicate.
type Email struct {
	ID      string
	To      string
	Subject string
	Body    string
}

// LedgerStore persists ledgers with optimistic concurrency.
type LedgerStore interface {
	kv.Mutable[Ledger]
}

// Mailer delivers e-mail (the email output binding).
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// Service sends the order e-mails.
type Service struct {
	ledgers LedgerStore
	mailer  Mailer
	now     func() time.Time
}

// NewService wires the service to its ports.
func NewService(ledgers LedgerStore, mailer Mailer, now func() time.Time) *Service {
	return &Service{ledgers: ledgers, mailer: mailer, now: now}
}

func ledgerKey(orderID string) string { return "mail/" + orderID }

// Notified lists the kinds of event that produce an e-mail, in saga order.
var Notified = []events.Kind{
	events.OrderPlaced, events.StockRejected, events.PaymentFailed, events.ShipmentDispatched,
	events.OrderCancelled, events.PaymentRefunded,
}

// outcomes are the events that each announce an order's fate; an order has one fate, so once one of them is
// recorded the others are withheld. A cancellation racing a rejection or a decline can produce two of them,
// and whichever notifications records first is what the customer is told. payment.refunded is not among
// them: it follows order.cancelled and reports money actually returned, which never contradicts anything.
var outcomes = []events.Kind{events.StockRejected, events.PaymentFailed, events.ShipmentDispatched, events.OrderCancelled}

// OnPlaced remembers the recipient, confirms the order, and sends the e-mails that were waiting for the
// recipient.
func (s *Service) OnPlaced(ctx context.Context, _ string, d events.OrderPlacedData) error {
	return s.handle(ctx, d.OrderID, events.OrderPlaced, &Recipient{CustomerID: d.CustomerID, Email: d.Email},
		"We received your order "+d.OrderID,
		fmt.Sprintf("Hello %s,\n\nthank you for your order %s (%d item lines). We will write again when it ships.\n",
			d.CustomerID, d.OrderID, len(d.Items)))
}

// OnRejected tells the customer the order could not be reserved.
func (s *Service) OnRejected(ctx context.Context, _ string, d events.StockRejectedData) error {
	return s.handle(ctx, d.OrderID, events.StockRejected, nil,
		"We could not accept your order "+d.OrderID,
		fmt.Sprintf("Sorry, we could not reserve your order %s: %s.\nYou have not been charged.\n", d.OrderID, d.Reason))
}

// OnPaymentFailed tells the customer the payment did not go through.
func (s *Service) OnPaymentFailed(ctx context.Context, _ string, d events.PaymentFailedData) error {
	return s.handle(ctx, d.OrderID, events.PaymentFailed, nil,
		"Payment for your order "+d.OrderID+" failed",
		fmt.Sprintf("The payment for your order %s failed: %s.\nThe items are no longer reserved for you.\n", d.OrderID, d.Reason))
}

// OnDispatched tells the customer the parcel is on its way.
func (s *Service) OnDispatched(ctx context.Context, _ string, d events.ShipmentDispatchedData) error {
	return s.handle(ctx, d.OrderID, events.ShipmentDispatched, nil,
		"Your order "+d.OrderID+" has shipped",
		fmt.Sprintf("Good news: your order %s is on its way with %s, tracking number %s.\n", d.OrderID, d.Carrier, d.TrackingNumber))
}

// OnCancelled tells the customer the order was cancelled or expired.
func (s *Service) OnCancelled(ctx context.Context, _ string, d events.OrderCancelledData) error {
	why := "as you asked"
	if d.Reason == events.ReasonReservationExpired {
		why = "because the payment did not arrive in time"
	}
	return s.handle(ctx, d.OrderID, events.OrderCancelled, nil,
		"Your order "+d.OrderID+" was cancelled",
		fmt.Sprintf("Your order %s was cancelled %s. Any payment will be refunded.\n", d.OrderID, why))
}

// OnRefunded confirms a refund.
func (s *Service) OnRefunded(ctx context.Context, _ string, d events.PaymentRefundedData) error {
	return s.handle(ctx, d.OrderID, events.PaymentRefunded, nil,
		"Refund for your order "+d.OrderID,
		fmt.Sprintf("We refunded %s for your order %s.\n", formatCents(d.AmountCents, d.Currency), d.OrderID))
}

// handle records the e-mail for event k, claims what this delivery must send, sends it, and marks it sent.
// Claiming before sending makes a concurrent duplicate find the claim and send nothing; a claim left by an
// attempt that died is taken over once it is older than claimLease, and the re-send carries the same
// message id. An event that arrives before order.placed is recorded as waiting and acknowledged: order.placed
// sends it, however long its own delivery takes, instead of the event exhausting its retries.
func (s *Service) handle(ctx context.Context, orderID string, k events.Kind, r *Recipient, subject, body string) error {
	type claim struct {
		topic string
		email Email
	}
	var (
		claimed []claim
		busy    bool
	)
	claimedAt := s.now().UTC()
	err := kv.Mutate(ctx, s.ledgers, ledgerKey(orderID), func(l *Ledger, _ bool) bool {
		changed := l.record(orderID, k, r, subject, body)
		// order.placed's delivery also sends what waited for it, and takes over a send that died meanwhile.
		mine := []string{k.Topic}
		if k == events.OrderPlaced {
			mine = l.unsent()
		}
		claimed, busy = claimed[:0], false
		for _, topic := range mine {
			m := l.Mails[topic]
			switch {
			case m.State != StateSending:
			case m.ClaimedAt != nil && claimedAt.Sub(*m.ClaimedAt) < claimLease:
				busy = true
			default:
				m.ClaimedAt = &claimedAt
				claimed = append(claimed, claim{topic, Email{ID: orderID + "-" + topic, To: l.Recipient.Email, Subject: m.Subject, Body: m.Body}})
				changed = true
			}
		}
		return changed
	})
	if err != nil {
		return fmt.Errorf("recording the %s e-mail of order %s: %w", k.Topic, orderID, err)
	}
	var errs []error
	for _, c := range claimed {
		errs = append(errs, s.send(ctx, orderID, c.topic, c.email, claimedAt))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if busy {
		// Another delivery is sending; the redelivery finds the e-mail sent, or the claim expired and sends it.
		return apperr.New(apperr.Unavailable, "an e-mail of order %s is being sent by another delivery", orderID)
	}
	return nil
}

// record adds the e-mail for k to the ledger unless it is there already, deciding whether it contradicts the
// outcome, and learns the recipient from order.placed. It reports whether the ledger changed.
func (l *Ledger) record(orderID string, k events.Kind, r *Recipient, subject, body string) bool {
	changed := false
	if l.Mails == nil {
		l.OrderID, l.Mails = orderID, map[string]*Mail{}
		changed = true
	}
	if r != nil && l.Recipient == nil {
		l.Recipient = r
		for _, m := range l.Mails {
			if m.State == StateWaiting {
				m.State = StateSending
			}
		}
		changed = true
	}
	if _, ok := l.Mails[k.Topic]; ok {
		return changed
	}
	m := &Mail{Event: k.Topic, Subject: subject, Body: body, State: StateSending}
	isOutcome := slices.Contains(outcomes, k)
	switch {
	case isOutcome && l.Outcome != "":
		// First outcome wins: the customer is never told two different fates. No correction is sent either:
		// every outcome that can lose this race (rejected, payment failed, cancelled) already told the customer
		// that nothing ships and nothing is kept, and a refund, if any, is mailed on its own.
		m.State = StateWithheld
	case l.Recipient == nil:
		m.State = StateWaiting
	}
	if isOutcome && l.Outcome == "" {
		l.Outcome = k.Topic
	}
	l.Mails[k.Topic] = m
	return true
}

// unsent lists the e-mails still to send, in saga order.
func (l *Ledger) unsent() []string {
	var out []string
	for _, k := range Notified {
		if m, ok := l.Mails[k.Topic]; ok && m.State == StateSending {
			out = append(out, k.Topic)
		}
	}
	return out
}

// send delivers one claimed e-mail and marks it sent. A failed send gives the claim back, so the
// redelivery need not wait for it to expire; a failure to mark it sent keeps the claim, and once it
// expires the redelivery sends the same message again, which at-least-once delivery accepts.
func (s *Service) send(ctx context.Context, orderID, topic string, e Email, claimedAt time.Time) error {
	key := ledgerKey(orderID)
	sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	err := s.mailer.Send(sendCtx, e)
	cancel()
	if err != nil {
		release := kv.Mutate(ctx, s.ledgers, key, func(l *Ledger, _ bool) bool {
			m := l.Mails[topic]
			if m == nil || m.State != StateSending || m.ClaimedAt == nil || !m.ClaimedAt.Equal(claimedAt) {
				return false
			}
			m.ClaimedAt = nil
			return true
		})
		return errors.Join(fmt.Errorf("sending the %s e-mail of order %s: %w", topic, orderID, err), release)
	}
	sentAt := s.now().UTC()
	markSent := func(ctx context.Context) error {
		return kv.Mutate(ctx, s.ledgers, key, func(l *Ledger, _ bool) bool {
			m := l.Mails[topic]
			if m == nil || m.State == StateSent {
				return false
			}
			m.State, m.ClaimedAt, m.SentAt = StateSent, nil, &sentAt
			return true
		})
	}
	// The e-mail is out: recording that outlives the delivery's own request, which ends when a restarting
	// sidecar drops it, and is retried while the failure is transient.
	markCtx, cancelMark := context.WithTimeout(context.WithoutCancel(ctx), markSentPatience)
	defer cancelMark()
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err = markSent(markCtx)
		if err == nil || apperr.CodeOf(err) != apperr.Unavailable {
			break
		}
		select {
		case <-markCtx.Done():
			return fmt.Errorf("marking the %s e-mail of order %s sent: %w", topic, orderID, err)
		case <-time.After(wait):
		}
	}
	if err != nil {
		return fmt.Errorf("marking the %s e-mail of order %s sent: %w", topic, orderID, err)
	}
	return nil
}

// History returns the e-mails sent about an order and those recorded but not sent, both in saga order.
func (s *Service) History(ctx context.Context, orderID string) ([]Sent, []Unsent, error) {
	if orderID == "" || strings.ContainsAny(orderID, "/ ") {
		return nil, nil, apperr.Invalidf("orderId", "is required")
	}
	sent, unsent := []Sent{}, []Unsent{}
	l, _, err := s.ledgers.Get(ctx, ledgerKey(orderID))
	if errors.Is(err, kv.ErrNotFound) {
		return sent, unsent, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, k := range Notified {
		m, ok := l.Mails[k.Topic]
		switch {
		case !ok:
		case m.State == StateSent:
			sent = append(sent, Sent{OrderID: orderID, Event: m.Event, To: l.Recipient.Email, Subject: m.Subject, SentAt: *m.SentAt})
		default:
			unsent = append(unsent, Unsent{Event: m.Event, State: m.State})
		}
	}
	return sent, unsent, nil
}

func formatCents(cents int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency)
}
