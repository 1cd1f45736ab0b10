package notify

import (
	"slices"
	"time"

	"orderflow/internal/events"
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
