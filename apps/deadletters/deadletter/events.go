package deadletter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"orderflow/internal/events"
	"orderflow/internal/kv"
)

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
