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
	"context"
	"encoding/base64"
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
