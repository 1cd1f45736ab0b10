package deadletter

import (
	"encoding/json"
	"strings"
	"time"

	"orderflow/internal/apperr"
)

// Status is where a dead letter stands.
type Status string

// Dead-letter statuses. pending → replayed (again and again, harmlessly) or pending → discarded; a replayed dead
// letter that dies again is pending once more.
const (
	Pending   Status = "pending"
	Replayed  Status = "replayed"
	Discarded Status = "discarded"
)

// ParseStatus validates a status given by a client.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Pending, Replayed, Discarded:
		return st, nil
	}
	return "", apperr.Invalidf("status", "must be one of %s, %s, %s", Pending, Replayed, Discarded)
}

// Consumers are the apps whose subscriptions dead-letter to <app>.deadletter
// (components/shared/subscriptions.yaml).
var Consumers = []string{"orders", "inventory", "payments", "shipping", "notifications"}

// Topic is the (unprefixed) dead-letter topic of a consuming app.
func Topic(consumer string) string { return consumer + ".deadletter" }

// DeadLetter is one kept delivery.
type DeadLetter struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Consumer is the app that gave up on the event; DeadLetterTopic is the topic it then arrived on.
	Consumer        string `json:"consumer"`
	DeadLetterTopic string `json:"deadLetterTopic"`
	// Topic is the topic the event was originally published to, where a replay sends it; empty when unknown.
	Topic       string `json:"topic,omitempty"`
	EventID     string `json:"eventId"`
	EventType   string `json:"eventType,omitempty"`
	Source      string `json:"source,omitempty"`
	Subject     string `json:"subject,omitempty"`
	TraceParent string `json:"traceparent,omitempty"`
	// Event is the CloudEvent as it died (its JSON unchanged but for whitespace); Raw holds a body that is not JSON.
	Event json.RawMessage `json:"event,omitempty"`
	Raw   []byte          `json:"raw,omitempty"`
	// ParseError says why the body is not a usable CloudEvent; such a dead letter cannot be replayed.
	ParseError string `json:"parseError,omitempty"`
	// ArrivedAt is the first arrival; Arrivals counts how often it died (more than once only after replays).
	ArrivedAt     time.Time  `json:"arrivedAt"`
	LastArrivedAt time.Time  `json:"lastArrivedAt"`
	Arrivals      int        `json:"arrivals"`
	Replays       int        `json:"replays,omitempty"`
	ReplayedAt    *time.Time `json:"replayedAt,omitempty"`
	DiscardedAt   *time.Time `json:"discardedAt,omitempty"`
}

// Summary is the dead letter without its body, for listings.
func (d DeadLetter) Summary() DeadLetter {
	d.Event, d.Raw = nil, nil
	return d
}

// Index lists every kept dead letter by arrival, oldest first. Not every Dapr state store can list keys, so the
// service keeps this one record itself, bounded to the newest MaxIndexed entries.
type Index struct {
	Entries []IndexEntry `json:"entries"`
}

// IndexEntry places one dead letter in the Index.
type IndexEntry struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

func (e IndexEntry) compare(o IndexEntry) int {
	if c := e.At.Compare(o.At); c != 0 {
		return c
	}
	return strings.Compare(e.ID, o.ID)
}

// Limits of the index and of one listing.
const (
	// MaxIndexed bounds the index record; older dead letters stay readable by id but leave the listing.
	MaxIndexed = 10000
	// MaxPage bounds one page of a listing.
	MaxPage = 200
	// scanPages bounds how many pages' worth of entries a filtered listing reads before it returns what it
	// found with a cursor to continue, so a rare status never makes one request read the whole index.
	scanPages = 10
)
