// Package events is orderflow's event catalog: every topic, CloudEvent type and payload the services
// exchange. It is the Go twin of the JSON Schemas and AsyncAPI document in docs/events, and tests check that
// what the services publish validates against those schemas, so a service in any language can join.
//
// Conventions:
//   - One topic per event kind, named <entity>.<past-tense-verb> (order.placed). Deployments may prefix topics
//     (TOPIC_PREFIX) to share a broker; the catalog names them unprefixed.
//   - CloudEvent type orderflow.<topic>.v<N>; a breaking payload change is a new type and schema.
//   - Event ids are deterministic — <orderId>/<topic> — because each kind happens at most once per order. A
//     handler that is redelivered re-publishes the same id, and consumers deduplicate on it.
package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// SpecVersion is the CloudEvents version orderflow emits.
const SpecVersion = "1.0"

// Kind names one event kind: its topic, CloudEvent type and JSON Schema file.
type Kind struct {
	Topic string
	Type  string
}

// Schema is the path of the kind's JSON Schema, relative to docs/events.
func (k Kind) Schema() string { return k.Topic + ".schema.json" }

func kind(topic string) Kind { return Kind{Topic: topic, Type: "orderflow." + topic + ".v1"} }

// The catalog. Producers are noted; docs/events/asyncapi.yaml lists consumers.
var (
	OrderPlaced          = kind("order.placed")           // orders
	OrderCancelRequested = kind("order.cancel-requested") // orders
	OrderCancelled       = kind("order.cancelled")        // orders
	StockReserved        = kind("stock.reserved")         // inventory
	StockRejected        = kind("stock.rejected")         // inventory
	StockReleased        = kind("stock.released")         // inventory
	ReservationExpired   = kind("reservation.expired")    // inventory
	PaymentSucceeded     = kind("payment.succeeded")      // payments
	PaymentFailed        = kind("payment.failed")         // payments
	PaymentRefunded      = kind("payment.refunded")       // payments
	ShipmentDispatched   = kind("shipment.dispatched")    // shipping
	ShipmentCancelled    = kind("shipment.cancelled")     // shipping
)

// All lists every kind, for schema checks and tooling.
var All = []Kind{
	OrderPlaced, OrderCancelRequested, OrderCancelled,
	StockReserved, StockRejected, StockReleased, ReservationExpired,
	PaymentSucceeded, PaymentFailed, PaymentRefunded,
	ShipmentDispatched, ShipmentCancelled,
}

// ByType finds a kind by CloudEvent type.
func ByType(t string) (Kind, bool) {
	for _, k := range All {
		if k.Type == t {
			return k, true
		}
	}
	return Kind{}, false
}

// ID is the deterministic event id for kind k about order orderID.
func ID(orderID string, k Kind) string { return orderID + "/" + k.Topic }

// Event is an event a domain wants published. Data is one of the payload structs below.
type Event struct {
	Kind    Kind
	ID      string
	Subject string
	Time    time.Time
	Data    any
}

// New builds the event of kind k about an order, with its deterministic id.
func New(k Kind, orderID string, at time.Time, data any) Event {
	return Event{Kind: k, ID: ID(orderID, k), Subject: orderID, Time: at.UTC(), Data: data}
}

// Envelope is a structured-mode CloudEvent as it travels through the broker. Dapr adds topic, pubsubname and,
// when absent, traceparent.
type Envelope struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	DataSchema      string    `json:"dataschema,omitempty"`
	TraceParent     string    `json:"traceparent,omitempty"`
	// TraceID repeats TraceParent: Dapr replaces traceparent with its own unless traceid is present.
	TraceID    string          `json:"traceid,omitempty"`
	Data       json.RawMessage `json:"data"`
	Topic      string          `json:"topic,omitempty"`
	PubsubName string          `json:"pubsubname,omitempty"`
}

// SchemaBaseURI prefixes dataschema values; the files live in docs/events.
const SchemaBaseURI = "https://orderflow.dev/schemas/events/"

// Wrap renders e as a CloudEvent from source.
func Wrap(e Event, source, traceParent string) (Envelope, error) {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encoding %s data: %w", e.Kind.Type, err)
	}
	return Envelope{
		SpecVersion:     SpecVersion,
		ID:              e.ID,
		Source:          source,
		Type:            e.Kind.Type,
		Subject:         e.Subject,
		Time:            e.Time,
		DataContentType: "application/json",
		DataSchema:      SchemaBaseURI + e.Kind.Schema(),
		TraceParent:     traceParent,
		TraceID:         traceParent,
		Data:            data,
	}, nil
}
