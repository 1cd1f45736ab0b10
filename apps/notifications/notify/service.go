// Package notify is the notifications service's domain: which order events become which e-mails, and the
// per-order ledger that guarantees exactly one e-mail per (order, event), never one that contradicts the
// outcome the customer was already told about, under at-least-once delivery, concurrent duplicates,
// reordering and crashes.
//
// E-mail leaves through the Mailer port, which apps/notifications/mailer implements on the output binding.
package notify

import (
	"context"
	"errors"
	"fmt"
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
