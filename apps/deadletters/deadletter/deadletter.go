// Package deadletter is the deadletters service's domain. Every consuming app's subscriptions name a dead-letter
// topic, <app>.deadletter, where the sidecar moves a delivery the app dropped or whose retries ran out. On most
// brokers a topic nobody subscribes to loses what is published to it, so this service subscribes to all of
// them and keeps each dead letter — the original CloudEvent as it died, the app that gave up on it, the topic
// it was published to — until an operator replays it to that topic or discards it.
//
// Delivery is at least once and the same dead letter may arrive twice at once, so a dead letter's id is derived
// from the consuming app and the CloudEvent id, and its record is created only if absent: a redelivery finds it
// and changes nothing. Receive never reports a dead letter as unprocessable — one that cannot even be parsed is
// kept as raw bytes with the reason — because a dead letter of the dead-letter service would have nowhere to go.
package deadletter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv"
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

// Records persists dead letters.
type Records interface {
	kv.Mutable[DeadLetter]
	GetMany(ctx context.Context, keys []string) (map[string]kv.Entry[DeadLetter], error)
}

// Indexes persists the Index.
type Indexes interface {
	kv.Mutable[Index]
}

// Republisher publishes a CloudEvent, unchanged, to a topic.
type Republisher interface {
	Republish(ctx context.Context, topic string, cloudEvent []byte) error
}

// Service implements the dead-letter use cases.
type Service struct {
	records     Records
	index       Indexes
	pub         Republisher
	topicPrefix string
	now         func() time.Time
}

// NewService wires the use cases to their ports. topicPrefix is the deployment's TOPIC_PREFIX: the catalog topics
// under it are the only topics a replay may publish to.
func NewService(records Records, index Indexes, pub Republisher, topicPrefix string, now func() time.Time) *Service {
	return &Service{records: records, index: index, pub: pub, topicPrefix: topicPrefix, now: now}
}

const indexKey = "index"

func recordKey(id string) string { return "deadletter/" + id }

var idPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

// id is deterministic, so every delivery of the same dead letter lands on the same record. The same event
// dead-lettered by two apps is two dead letters: each app has to be given it again.
func id(consumer, eventID string) string {
	sum := sha256.Sum256([]byte(consumer + "\x00" + eventID))
	return hex.EncodeToString(sum[:])[:24]
}

// envelope is what Receive reads of a CloudEvent: every attribute as a plain string, so that one wrongly typed
// attribute is reported rather than failing the whole parse.
type envelope struct {
	ID          any `json:"id"`
	Type        any `json:"type"`
	Source      any `json:"source"`
	Subject     any `json:"subject"`
	TraceParent any `json:"traceparent"`
	Topic       any `json:"topic"`
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// parse turns a delivery's body into a new dead letter. It never fails: what it cannot read it notes.
func (s *Service) parse(consumer string, body []byte, at time.Time) DeadLetter {
	d := DeadLetter{
		Status: Pending, Consumer: consumer, DeadLetterTopic: s.topicPrefix + Topic(consumer),
		ArrivedAt: at, LastArrivedAt: at, Arrivals: 1,
	}
	var env envelope
	trimmed := bytes.TrimSpace(body)
	switch {
	case !json.Valid(trimmed):
		d.Raw, d.ParseError = body, "the body is not JSON"
	case json.Unmarshal(trimmed, &env) != nil:
		d.Event, d.ParseError = trimmed, "the body is not a JSON object"
	case str(env.ID) == "":
		d.Event, d.ParseError = trimmed, "the CloudEvent has no id (a non-empty string)"
	default:
		d.Event = trimmed
		d.EventID, d.EventType, d.Source = str(env.ID), str(env.Type), str(env.Source)
		d.Subject, d.TraceParent = str(env.Subject), str(env.TraceParent)
		d.Topic = s.originalTopic(str(env.Topic), d.EventType, d.DeadLetterTopic)
	}
	if d.EventID == "" {
		// Without an id the body itself identifies the dead letter, so its redeliveries still deduplicate.
		sum := sha256.Sum256(body)
		d.EventID = "sha256:" + hex.EncodeToString(sum[:])
	}
	d.ID = id(consumer, d.EventID)
	return d
}

// originalTopic is the topic the event was first published to. The publishing sidecar writes it into the
// CloudEvent (its topic attribute), and the sidecar that dead-letters a delivery republishes the broker message
// unchanged, so it survives on every broker. An event published without it (by a producer that is not a Dapr
// sidecar), or published straight to the dead-letter topic (whose sidecar then wrote that topic in), falls back
// to its type's catalog topic.
func (s *Service) originalTopic(topic, eventType, arrivedOn string) string {
	if topic != "" && topic != arrivedOn {
		return topic
	}
	if k, ok := events.ByType(eventType); ok {
		return s.topicPrefix + k.Topic
	}
	return ""
}

// replayable says why d cannot be replayed, or "" when it can: a replay only ever publishes a parsed
// CloudEvent, and only to one of the catalog's topics, so a crafted dead letter cannot reach any other.
func (s *Service) replayable(d DeadLetter) string {
	if d.ParseError != "" {
		return "it is not a usable CloudEvent (" + d.ParseError + ")"
	}
	if !slices.ContainsFunc(events.All, func(k events.Kind) bool { return s.topicPrefix+k.Topic == d.Topic }) {
		return "its original topic is not one of orderflow's topics"
	}
	return ""
}

// Receive keeps a dead letter that arrived on consumer's dead-letter topic. A redelivery changes nothing; a
// dead letter that arrives again after it was replayed (the replay failed too) is pending again. It fails only
// when the store does, and then the caller should ask for redelivery.
func (s *Service) Receive(ctx context.Context, consumer string, body []byte) (DeadLetter, error) {
	now := s.now().UTC()
	arrived := s.parse(consumer, body, now)
	var stored DeadLetter
	err := kv.Mutate(ctx, s.records, recordKey(arrived.ID), func(d *DeadLetter, exists bool) bool {
		switch {
		case !exists:
			*d = arrived
		case d.Status == Replayed && d.ReplayedAt != nil && now.After(*d.ReplayedAt):
			d.Status, d.LastArrivedAt = Pending, now
			d.Arrivals++
		default:
			stored = *d
			return false
		}
		stored = *d
		return true
	})
	if err != nil {
		return DeadLetter{}, fmt.Errorf("keeping dead letter %s: %w", arrived.ID, err)
	}
	// Indexed after the record is written, and again on every redelivery, so a crash in between only delays it.
	entry := IndexEntry{ID: stored.ID, At: stored.ArrivedAt}
	err = kv.Mutate(ctx, s.index, indexKey, func(ix *Index, _ bool) bool {
		if slices.ContainsFunc(ix.Entries, func(e IndexEntry) bool { return e.ID == entry.ID }) {
			return false
		}
		at, _ := slices.BinarySearchFunc(ix.Entries, entry, IndexEntry.compare)
		ix.Entries = slices.Insert(ix.Entries, at, entry)
		if len(ix.Entries) > MaxIndexed {
			ix.Entries = slices.Clone(ix.Entries[len(ix.Entries)-MaxIndexed:])
		}
		return true
	})
	if err != nil {
		return DeadLetter{}, fmt.Errorf("indexing dead letter %s: %w", stored.ID, err)
	}
	return stored, nil
}

func notFound(id string) error { return apperr.New(apperr.NotFound, "no dead letter %s", id) }

// Get returns one dead letter.
func (s *Service) Get(ctx context.Context, id string) (DeadLetter, error) {
	if !idPattern.MatchString(id) {
		return DeadLetter{}, apperr.Invalidf("id", "must be a dead-letter id (24 hexadecimal digits)")
	}
	d, _, err := s.records.Get(ctx, recordKey(id))
	if errors.Is(err, kv.ErrNotFound) {
		return DeadLetter{}, notFound(id)
	}
	return d, err
}

// Replay publishes the dead letter's CloudEvent, unchanged — same id, type and trace — to its original topic,
// and marks it replayed. The consumers deduplicate by event id, so replaying again is harmless, which is also
// why a crash between the publish and the mark needs no care: the operator replays once more.
func (s *Service) Replay(ctx context.Context, id string) (DeadLetter, error) {
	d, err := s.Get(ctx, id)
	if err != nil {
		return DeadLetter{}, err
	}
	if d.Status == Discarded {
		return DeadLetter{}, apperr.New(apperr.Conflict, "dead letter %s was discarded", id)
	}
	if why := s.replayable(d); why != "" {
		return DeadLetter{}, apperr.New(apperr.Conflict, "dead letter %s cannot be replayed: %s", id, why)
	}
	if err := s.pub.Republish(ctx, d.Topic, d.Event); err != nil {
		return DeadLetter{}, fmt.Errorf("replaying dead letter %s: %w", id, err)
	}
	now := s.now().UTC()
	// The event is out: the record says so even if a discard slipped in since it was read.
	err = kv.Mutate(ctx, s.records, recordKey(id), func(cur *DeadLetter, exists bool) bool {
		if !exists {
			return false
		}
		cur.Status, cur.ReplayedAt, cur.DiscardedAt = Replayed, &now, nil
		cur.Replays++
		d = *cur
		return true
	})
	return d, err
}

// Discard marks a pending dead letter as dealt with, without replaying it. Discarding twice is harmless; a
// replayed dead letter cannot be discarded, its event is already out.
func (s *Service) Discard(ctx context.Context, id string) (DeadLetter, error) {
	if !idPattern.MatchString(id) {
		return DeadLetter{}, apperr.Invalidf("id", "must be a dead-letter id (24 hexadecimal digits)")
	}
	now := s.now().UTC()
	var d DeadLetter
	var refused error
	err := kv.Mutate(ctx, s.records, recordKey(id), func(cur *DeadLetter, exists bool) bool {
		d, refused = *cur, nil
		switch {
		case !exists:
			refused = notFound(id)
		case cur.Status == Replayed:
			refused = apperr.New(apperr.Conflict, "dead letter %s was already replayed", id)
		case cur.Status == Pending:
			cur.Status, cur.DiscardedAt = Discarded, &now
			d = *cur
			return true
		}
		return false
	})
	if err != nil {
		return DeadLetter{}, err
	}
	return d, refused
}

// Page is one page of a listing, newest first. Next, when set, continues the listing.
type Page struct {
	DeadLetters []DeadLetter `json:"deadLetters"`
	Next        string       `json:"next,omitempty"`
}

// List returns up to limit dead letters (summaries, without their bodies), newest first, optionally only those
// with one status, continuing after cursor (from a previous Page's Next; empty starts at the newest).
func (s *Service) List(ctx context.Context, status Status, limit int, cursor string) (Page, error) {
	if limit < 1 || limit > MaxPage {
		return Page{}, apperr.Invalidf("limit", "must be between 1 and %d", MaxPage)
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	ix, _, err := s.index.Get(ctx, indexKey)
	if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return Page{}, err
	}
	// Newest first, starting just below the cursor.
	end := len(ix.Entries)
	if after != nil {
		end, _ = slices.BinarySearchFunc(ix.Entries, *after, IndexEntry.compare)
	}
	page := Page{DeadLetters: []DeadLetter{}}
	for scanned := 0; end > 0; {
		if scanned >= scanPages*limit {
			page.Next = encodeCursor(ix.Entries[end])
			return page, nil
		}
		batch := ix.Entries[max(0, end-limit):end]
		keys := make([]string, len(batch))
		for i, e := range batch {
			keys[len(batch)-1-i] = recordKey(e.ID)
		}
		found, err := s.records.GetMany(ctx, keys)
		if err != nil {
			return Page{}, err
		}
		for _, key := range keys {
			end-- // now the position of key's entry
			scanned++
			e, ok := found[key]
			if !ok || (status != "" && e.Value.Status != status) {
				continue
			}
			page.DeadLetters = append(page.DeadLetters, e.Value.Summary())
			if len(page.DeadLetters) == limit {
				if end > 0 {
					page.Next = encodeCursor(ix.Entries[end])
				}
				return page, nil
			}
		}
	}
	return page, nil
}

// A cursor is the index position of the last dead letter listed, opaque to clients.
func encodeCursor(e IndexEntry) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.At.UnixNano(), 10) + "." + e.ID))
}

func decodeCursor(c string) (*IndexEntry, error) {
	if c == "" {
		return nil, nil
	}
	invalid := apperr.Invalidf("cursor", "must be the next value of a previous page")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, invalid
	}
	nanos, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(nanos, 10, 64)
	if !ok || err != nil || !idPattern.MatchString(id) {
		return nil, invalid
	}
	return &IndexEntry{ID: id, At: time.Unix(0, n).UTC()}, nil
}
