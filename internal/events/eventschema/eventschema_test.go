package eventschema_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"orderflow/internal/events"
	"orderflow/internal/events/eventschema"
)

// The contract lives in docs/events at the repository root; tests run in this package's directory.
const (
	schemaDir         = "../../../docs/events"
	asyncAPIFile      = schemaDir + "/asyncapi.yaml"
	subscriptionsFile = "../../../components/shared/subscriptions.yaml"
)

// The Validator is immutable once loaded, so the parallel tests share one.
var loadValidator = sync.OnceValues(func() (*eventschema.Validator, error) {
	return eventschema.Load(schemaDir)
})

func validator(t *testing.T) *eventschema.Validator {
	t.Helper()
	v, err := loadValidator()
	require.NoError(t, err, "loading the schemas in %s", schemaDir)
	return v
}

const (
	orderID     = "5f0c2a8e-8d4b-4f59-9a57-0f6f2f8f3c11"
	traceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// at returns a timestamp with nanoseconds, so the test covers the longest time format Go emits.
func at(minute int) time.Time {
	return time.Date(2026, 5, 1, 10, minute, 30, 123456789, time.UTC)
}

var payment = events.PaymentMethod{CardToken: "tok_visa"}

// samples holds a realistic payload for every kind, with every field set, as the producers would emit it.
var samples = map[events.Kind]any{
	events.OrderPlaced: events.OrderPlacedData{
		OrderID: orderID, CustomerID: "c-42", Email: "ada@example.com",
		Items:    []events.Item{{SKU: "SKU-1", Quantity: 2}, {SKU: "mug.blue_XL", Quantity: 1}},
		Payment:  payment,
		PlacedAt: at(15),
	},
	events.OrderCancelRequested: events.OrderCancelRequestedData{OrderID: orderID, RequestedAt: at(16)},
	events.OrderCancelled: events.OrderCancelledData{
		OrderID: orderID, Reason: events.ReasonCustomerRequest, CancelledAt: at(17),
	},
	events.StockReserved: events.StockReservedData{
		OrderID: orderID, CustomerID: "c-42",
		Lines: []events.PricedLine{
			{SKU: "SKU-1", Name: "Espresso cups (set of 2)", Quantity: 2, UnitPriceCents: 1999, LineTotalCents: 3998},
			{SKU: "mug.blue_XL", Name: "Blue mug, XL", Quantity: 1, UnitPriceCents: 0, LineTotalCents: 0},
		},
		TotalCents: 3998, Currency: events.Currency, Payment: payment,
		ReservedAt: at(15), ExpiresAt: at(30),
	},
	events.StockRejected: events.StockRejectedData{
		OrderID: orderID, Reason: "not enough stock for SKU-1; unknown SKU NOPE-9",
		Shortages: []events.Shortage{
			{SKU: "SKU-1", Requested: 2, Available: 1, Known: true},
			{SKU: "NOPE-9", Requested: 1, Available: 0, Known: false},
		},
		RejectedAt: at(15),
	},
	events.StockReleased: events.StockReleasedData{
		OrderID: orderID, Reason: events.ReasonPaymentFailed,
		Lines: []events.Item{{SKU: "SKU-1", Quantity: 2}}, ReleasedAt: at(16),
	},
	events.ReservationExpired: events.ReservationExpiredData{OrderID: orderID, ReservedAt: at(15), ExpiredAt: at(31)},
	events.PaymentSucceeded: events.PaymentSucceededData{
		OrderID: orderID, CustomerID: "c-42", PaymentID: "ch_3Pq9XJ2eZvKYlo2C",
		AmountCents: 3998, Currency: events.Currency, PaidAt: at(16),
	},
	events.PaymentFailed: events.PaymentFailedData{
		OrderID: orderID, Code: events.PaymentInsufficientFunds, Reason: "insufficient funds", FailedAt: at(16),
	},
	events.PaymentRefunded: events.PaymentRefundedData{
		OrderID: orderID, PaymentID: "ch_3Pq9XJ2eZvKYlo2C", AmountCents: 3998, Currency: events.Currency,
		RefundedAt: at(18),
	},
	events.ShipmentDispatched: events.ShipmentDispatchedData{
		OrderID: orderID, ShipmentID: "shp-7d1e", Carrier: "ACME Parcel", TrackingNumber: "1Z999AA10123456784",
		DispatchedAt: at(17),
	},
	events.ShipmentCancelled: events.ShipmentCancelledData{
		OrderID: orderID, Reason: events.ReasonReservationExpired, CancelledAt: at(31),
	},
}

// cloudEvent renders data as the CloudEvent a producer publishes, the way daprx.Publisher does.
func cloudEvent(t *testing.T, k events.Kind, data any) []byte {
	t.Helper()
	env, err := events.Wrap(events.New(k, orderID, at(20), data), "orders", traceParent)
	require.NoError(t, err)
	b, err := json.Marshal(env)
	require.NoError(t, err)
	return b
}

// delivered is cloudEvent as a consumer receives it: Dapr adds attributes, and may add extensions.
func delivered(t *testing.T, k events.Kind, data any) map[string]any {
	t.Helper()
	var ce map[string]any
	require.NoError(t, json.Unmarshal(cloudEvent(t, k, data), &ce))
	ce["topic"] = "t1a2b." + k.Topic
	ce["pubsubname"] = "pubsub"
	ce["tracestate"] = "congo=t61rcWkgMzE"
	return ce
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc), "%s is not a JSON object", path)
	return doc
}

func TestSamplesCoverTheCatalog(t *testing.T) {
	t.Parallel()
	require.Len(t, samples, len(events.All), "every kind needs exactly one sample")
	for _, k := range events.All {
		require.Contains(t, samples, k, "no sample for %s", k.Type)
		requirePopulated(t, k.Topic, reflect.ValueOf(samples[k]))
	}
}

// requirePopulated fails if a field of v is left at its zero value (false is a legitimate bool), so the
// positive tests really exercise every property of every schema.
func requirePopulated(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if _, isTime := v.Interface().(time.Time); isTime {
			require.False(t, v.Interface().(time.Time).IsZero(), "%s is zero", path)
			return
		}
		for i := range v.NumField() {
			requirePopulated(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice:
		require.Positive(t, v.Len(), "%s is empty", path)
		requirePopulated(t, path+"[0]", v.Index(0))
	case reflect.Bool:
	default:
		require.False(t, v.IsZero(), "%s is zero", path)
	}
}

// TestSchemaFiles checks each kind's schema file against the Go payload it describes: same property names,
// every property required (no payload field has omitempty, so every one is always emitted), closed to extra
// properties, and documented.
func TestSchemaFiles(t *testing.T) {
	t.Parallel()
	validator(t) // every file compiles

	for _, k := range events.All {
		t.Run(k.Topic, func(t *testing.T) {
			t.Parallel()
			doc := readJSON(t, filepath.Join(schemaDir, k.Schema()))

			assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", doc["$schema"])
			assert.Equal(t, events.SchemaBaseURI+k.Schema(), doc["$id"])
			assert.Equal(t, k.Topic, doc["title"])
			assert.Contains(t, doc["description"], k.Type, "the description names the CloudEvent type")
			assert.Equal(t, "object", doc["type"])
			assert.Equal(t, false, doc["additionalProperties"])

			props, ok := doc["properties"].(map[string]any)
			require.True(t, ok, "properties must be an object")
			var names []string
			for name, p := range props {
				names = append(names, name)
				desc, _ := p.(map[string]any)["description"].(string)
				assert.NotEmpty(t, desc, "property %s needs a description", name)
			}
			fields := jsonFields(reflect.TypeOf(samples[k]))
			assert.ElementsMatch(t, fields, names, "schema properties vs. %T json fields", samples[k])
			assert.ElementsMatch(t, fields, doc["required"], "every field is always emitted, so all are required")
		})
	}
}

// jsonFields lists a struct's JSON field names, failing the test's expectations if one is omitempty.
func jsonFields(t reflect.Type) []any {
	var names []any
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			name += " (optional: the schema must not require it)"
		}
		names = append(names, name)
	}
	return names
}

func TestValidateAcceptsWhatProducersEmit(t *testing.T) {
	t.Parallel()
	v := validator(t)
	for _, k := range events.All {
		t.Run(k.Topic, func(t *testing.T) {
			t.Parallel()
			data := samples[k]
			assert.NoError(t, v.Validate(cloudEvent(t, k, data)), "as published")

			b, err := json.Marshal(delivered(t, k, data))
			require.NoError(t, err)
			assert.NoError(t, v.Validate(b), "as delivered by Dapr")
		})
	}
}

// TestValidateAcceptsVariants covers legitimate events that differ from the samples.
func TestValidateAcceptsVariants(t *testing.T) {
	t.Parallel()
	v := validator(t)
	tests := []struct {
		name   string
		kind   events.Kind
		mutate func(ce map[string]any)
	}{
		{"without trace context, as published outside a request", events.OrderCancelRequested, func(ce map[string]any) {
			delete(ce, "traceparent")
			delete(ce, "traceid")
		}},
		{"with an extension attribute", events.OrderCancelRequested, func(ce map[string]any) {
			ce["partitionkey"] = orderID
		}},
		{"with a time offset instead of Z", events.OrderCancelRequested, func(ce map[string]any) {
			ce["time"] = "2026-05-01T12:15:30+02:00"
		}},
		// orders accepts any address Go's net/mail parses; the contract must not reject what it publishes.
		{"an internationalized e-mail address", events.OrderPlaced, func(ce map[string]any) {
			ce["data"].(map[string]any)["email"] = "zoë@example.com"
		}},
		{"a free product", events.StockReserved, func(ce map[string]any) {
			data := ce["data"].(map[string]any)
			data["lines"] = data["lines"].([]any)[1:]
			data["totalCents"] = 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ce := delivered(t, tt.kind, samples[tt.kind])
			tt.mutate(ce)
			b, err := json.Marshal(ce)
			require.NoError(t, err)
			assert.NoError(t, v.Validate(b))
		})
	}
}

// TestSchemaExamplesAreValid keeps the examples in the schema files honest: they are documentation that
// readers copy.
func TestSchemaExamplesAreValid(t *testing.T) {
	t.Parallel()
	v := validator(t)
	for _, k := range events.All {
		t.Run(k.Topic, func(t *testing.T) {
			t.Parallel()
			examples, _ := readJSON(t, filepath.Join(schemaDir, k.Schema()))["examples"].([]any)
			require.NotEmpty(t, examples, "document at least one example payload")
			for i, ex := range examples {
				raw, err := json.Marshal(ex)
				require.NoError(t, err)
				assert.NoError(t, v.Validate(cloudEvent(t, k, json.RawMessage(raw))), "example %d", i)
			}
		})
	}
	t.Run("envelope", func(t *testing.T) {
		t.Parallel()
		examples, _ := readJSON(t, filepath.Join(schemaDir, eventschema.EnvelopeSchema))["examples"].([]any)
		require.NotEmpty(t, examples)
		for i, ex := range examples {
			raw, err := json.Marshal(ex)
			require.NoError(t, err)
			assert.NoError(t, v.Validate(raw), "example %d", i)
		}
	})
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	v := validator(t)
	tests := []struct {
		name   string
		kind   events.Kind
		mutate func(ce, data map[string]any)
		// wantPath is where the violation is reported; wantMsg is part of its message.
		wantPath string
		wantMsg  string
	}{
		{
			name: "missing required field", kind: events.OrderPlaced,
			mutate:   func(_, data map[string]any) { delete(data, "customerId") },
			wantPath: "/data/customerId", wantMsg: "required",
		},
		{
			name: "missing required field in a nested object", kind: events.StockReserved,
			mutate:   func(_, data map[string]any) { delete(line(data, "lines", 1), "unitPriceCents") },
			wantPath: "/data/lines/1/unitPriceCents", wantMsg: "required",
		},
		{
			name: "wrong type", kind: events.OrderPlaced,
			mutate:   func(_, data map[string]any) { line(data, "items", 0)["quantity"] = "2" },
			wantPath: "/data/items/0/quantity", wantMsg: "want integer",
		},
		{
			name: "fractional cents", kind: events.PaymentSucceeded,
			mutate:   func(_, data map[string]any) { data["amountCents"] = 39.98 },
			wantPath: "/data/amountCents", wantMsg: "want integer",
		},
		{
			name: "negative amount", kind: events.PaymentRefunded,
			mutate:   func(_, data map[string]any) { data["amountCents"] = -1 },
			wantPath: "/data/amountCents", wantMsg: "minimum",
		},
		{
			name: "zero quantity", kind: events.StockReleased,
			mutate:   func(_, data map[string]any) { line(data, "lines", 0)["quantity"] = 0 },
			wantPath: "/data/lines/0/quantity", wantMsg: "minimum",
		},
		{
			name: "no items", kind: events.OrderPlaced,
			mutate:   func(_, data map[string]any) { data["items"] = []any{} },
			wantPath: "/data/items", wantMsg: "minItems",
		},
		{
			name: "null instead of an empty list", kind: events.StockRejected,
			mutate:   func(_, data map[string]any) { data["shortages"] = nil },
			wantPath: "/data/shortages", wantMsg: "got null, want array",
		},
		{
			name: "extra property", kind: events.OrderPlaced,
			mutate:   func(_, data map[string]any) { data["discountCents"] = 100 },
			wantPath: "/data/discountCents", wantMsg: "not allowed",
		},
		{
			name: "card data instead of a token", kind: events.StockReserved,
			mutate:   func(_, data map[string]any) { data["payment"].(map[string]any)["cardNumber"] = "4242424242424242" },
			wantPath: "/data/payment/cardNumber", wantMsg: "not allowed",
		},
		{
			name: "bad enum", kind: events.OrderCancelled,
			mutate:   func(_, data map[string]any) { data["reason"] = events.ReasonPaymentFailed },
			wantPath: "/data/reason", wantMsg: "customer_request",
		},
		{
			name: "bad payment failure code", kind: events.PaymentFailed,
			mutate:   func(_, data map[string]any) { data["code"] = "fraud_suspected" },
			wantPath: "/data/code", wantMsg: "card_declined",
		},
		{
			name: "other currency", kind: events.StockReserved,
			mutate:   func(_, data map[string]any) { data["currency"] = "EUR" },
			wantPath: "/data/currency", wantMsg: "USD",
		},
		{
			name: "time that is not RFC 3339", kind: events.ShipmentDispatched,
			mutate:   func(_, data map[string]any) { data["dispatchedAt"] = "2026-05-01 10:17:30" },
			wantPath: "/data/dispatchedAt", wantMsg: "date-time",
		},
		{
			name: "not an e-mail address", kind: events.OrderPlaced,
			mutate:   func(_, data map[string]any) { data["email"] = "ada at example.com" },
			wantPath: "/data/email", wantMsg: "does not match pattern",
		},
		{
			name: "wrong specversion", kind: events.OrderPlaced,
			mutate:   func(ce, _ map[string]any) { ce["specversion"] = "0.3" },
			wantPath: "/specversion", wantMsg: "1.0",
		},
		{
			name: "unknown type", kind: events.OrderPlaced,
			mutate:   func(ce, _ map[string]any) { ce["type"] = "orderflow.order.shipped.v1" },
			wantPath: "/type", wantMsg: "not a type in the event catalog",
		},
		{
			name: "type outside the orderflow namespace", kind: events.OrderPlaced,
			mutate:   func(ce, _ map[string]any) { ce["type"] = "com.example.order.placed" },
			wantPath: "/type", wantMsg: "does not match pattern",
		},
		{
			name: "missing envelope attribute", kind: events.PaymentSucceeded,
			mutate:   func(ce, _ map[string]any) { delete(ce, "source") },
			wantPath: "/source", wantMsg: "required",
		},
		{
			name: "missing data", kind: events.PaymentSucceeded,
			mutate:   func(ce, _ map[string]any) { delete(ce, "data") },
			wantPath: "/data", wantMsg: "required",
		},
		{
			name: "data that is not an object", kind: events.PaymentSucceeded,
			mutate:   func(ce, _ map[string]any) { ce["data"] = "{}" },
			wantPath: "/data", wantMsg: "want object",
		},
		{
			name: "wrong data content type", kind: events.OrderPlaced,
			mutate:   func(ce, _ map[string]any) { ce["datacontenttype"] = "text/plain" },
			wantPath: "/datacontenttype", wantMsg: "application/json",
		},
		{
			name: "dataschema of another type", kind: events.OrderPlaced,
			mutate:   func(ce, _ map[string]any) { ce["dataschema"] = events.SchemaBaseURI + events.OrderCancelled.Schema() },
			wantPath: "/dataschema", wantMsg: "order.placed.schema.json",
		},
		{
			name: "malformed traceparent", kind: events.OrderPlaced,
			mutate:   func(ce, _ map[string]any) { ce["traceparent"] = "not-a-trace" },
			wantPath: "/traceparent", wantMsg: "does not match pattern",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ce := delivered(t, tt.kind, samples[tt.kind])
			tt.mutate(ce, ce["data"].(map[string]any))
			b, err := json.Marshal(ce)
			require.NoError(t, err)

			err = v.Validate(b)
			require.Error(t, err)
			var verr *eventschema.ValidationError
			require.ErrorAs(t, err, &verr)

			wantType, _ := ce["type"].(string)
			assert.Equal(t, events.ID(orderID, tt.kind), verr.EventID)
			assert.Equal(t, wantType, verr.Type)
			at := slices.IndexFunc(verr.Violations, func(v eventschema.Violation) bool { return v.Path == tt.wantPath })
			require.NotEqual(t, -1, at, "no violation at %s in %v", tt.wantPath, verr.Violations)
			assert.Contains(t, verr.Violations[at].Message, tt.wantMsg)
			assert.Len(t, verr.Violations, 1, "only the broken part is reported: %v", verr.Violations)

			msg := err.Error()
			for _, want := range []string{verr.EventID, wantType, tt.wantPath} {
				assert.Contains(t, msg, want, "the message identifies the event and the failing path")
			}
		})
	}
}

// line returns element i of the array data[field] as an object.
func line(data map[string]any, field string, i int) map[string]any {
	return data[field].([]any)[i].(map[string]any)
}

func TestValidateRejectsMalformedDocuments(t *testing.T) {
	t.Parallel()
	v := validator(t)
	tests := []struct {
		name    string
		body    string
		wantMsg string
	}{
		{"not JSON", `{"specversion":`, "not a JSON document"},
		{"not an object", `["orderflow.order.placed.v1"]`, "want object"},
		{"empty object", `{}`, "/id: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := v.Validate([]byte(tt.body))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestLoadFails(t *testing.T) {
	t.Parallel()
	// copyContract copies the real schema files into a temporary directory, minus skip, plus extra.
	copyContract := func(t *testing.T, skip string, extra map[string]string) string {
		t.Helper()
		dir := t.TempDir()
		paths, err := filepath.Glob(filepath.Join(schemaDir, "*.schema.json"))
		require.NoError(t, err)
		for _, p := range paths {
			if filepath.Base(p) == skip {
				continue
			}
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o600))
		}
		for name, body := range extra {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
		}
		return dir
	}
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		wantMsg string
	}{
		{"empty directory", func(t *testing.T) string { return t.TempDir() }, "no *.schema.json"},
		{"a kind without a schema", func(t *testing.T) string {
			return copyContract(t, events.PaymentRefunded.Schema(), nil)
		}, "payment.refunded.schema.json (for orderflow.payment.refunded.v1)"},
		{"no envelope schema", func(t *testing.T) string {
			return copyContract(t, eventschema.EnvelopeSchema, nil)
		}, "envelope schema"},
		{"an $id that does not match the file name", func(t *testing.T) string {
			return copyContract(t, "", map[string]string{
				"extra.schema.json": `{"$id": "https://orderflow.dev/schemas/events/other.schema.json"}`,
			})
		}, `want "https://orderflow.dev/schemas/events/extra.schema.json"`},
		{"a $ref to a schema that is not local", func(t *testing.T) string {
			return copyContract(t, "", map[string]string{
				"extra.schema.json": `{"$id": "https://orderflow.dev/schemas/events/extra.schema.json",
					"$ref": "https://example.com/remote.schema.json"}`,
			})
		}, "never fetched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := eventschema.Load(tt.dir(t))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

// TestAsyncAPI checks the AsyncAPI document against the catalog and the Dapr subscriptions: it parses, every
// $ref resolves (to a local file or within the document), every kind has a channel whose message payload is
// its schema and exactly one publishing operation, and the receive operations are exactly the subscriptions
// in components/shared/subscriptions.yaml.
func TestAsyncAPI(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(asyncAPIFile)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &doc), "%s is not valid YAML", asyncAPIFile)
	assert.Equal(t, "3.0.0", doc["asyncapi"])

	t.Run("every $ref resolves", func(t *testing.T) {
		t.Parallel()
		refs := collectRefs(doc)
		require.NotEmpty(t, refs)
		for _, ref := range refs {
			file, fragment, _ := strings.Cut(ref, "#")
			if file == "" {
				_, ok := resolvePointer(doc, fragment)
				assert.True(t, ok, "%s points at nothing in the document", ref)
				continue
			}
			assert.FileExists(t, filepath.Join(schemaDir, file), "$ref %s", ref)
		}
	})

	channels := asMap(doc["channels"])
	operations := asMap(doc["operations"])

	t.Run("every kind has a channel and a publisher", func(t *testing.T) {
		t.Parallel()
		for _, k := range events.All {
			ch := asMap(channels[k.Topic])
			require.NotNil(t, ch, "no channel for %s", k.Topic)
			assert.Equal(t, "{topicPrefix}"+k.Topic, ch["address"])

			msg := asMap(asMap(asMap(doc["components"])["messages"])[k.Topic])
			require.NotNil(t, msg, "no message for %s", k.Topic)
			payload := asMap(msg["payload"])
			assert.Equal(t, "application/schema+json;version=draft-2020-12", payload["schemaFormat"])
			assert.Equal(t, "./"+k.Schema(), asMap(payload["schema"])["$ref"])

			var senders []string
			for id, op := range operations {
				if asMap(op)["action"] == "send" && asMap(asMap(op)["channel"])["$ref"] == "#/channels/"+k.Topic {
					senders = append(senders, id)
				}
			}
			assert.Len(t, senders, 1, "%s needs exactly one producer", k.Topic)
		}
	})

	t.Run("receive operations match the subscriptions", func(t *testing.T) {
		t.Parallel()
		subs := readSubscriptions(t)
		require.NotEmpty(t, subs)
		var want []string
		for _, s := range subs {
			want = append(want, s.app+".receive."+s.topic)
			op := asMap(operations[s.app+".receive."+s.topic])
			if assert.NotNil(t, op, "no receive operation for %s on %s", s.app, s.topic) {
				assert.Equal(t, "#/channels/"+s.topic, asMap(op["channel"])["$ref"])
			}
			if s.deadLetter == "" {
				continue // the deadletters app's own subscriptions: a dead letter of a dead letter goes nowhere
			}
			dlq := asMap(channels[s.deadLetter])
			if assert.NotNil(t, dlq, "no channel for dead-letter topic %s", s.deadLetter) {
				assert.Contains(t, asMap(dlq["messages"]), s.topic, "%s can carry %s", s.deadLetter, s.topic)
			}
		}
		var got []string
		for id, op := range operations {
			if asMap(op)["action"] == "receive" {
				got = append(got, id)
			}
		}
		assert.ElementsMatch(t, want, got)
	})
}

type subscription struct{ app, topic, deadLetter string }

// readSubscriptions reads the declarative Dapr subscriptions: one YAML document per (app, topic).
func readSubscriptions(t *testing.T) []subscription {
	t.Helper()
	f, err := os.Open(subscriptionsFile)
	require.NoError(t, err)
	defer f.Close()
	var subs []subscription
	dec := yaml.NewDecoder(f)
	for {
		var doc struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Topic           string `yaml:"topic"`
				DeadLetterTopic string `yaml:"deadLetterTopic"`
			} `yaml:"spec"`
			Scopes []string `yaml:"scopes"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return subs
		}
		require.NoError(t, err)
		if doc.Kind != "Subscription" {
			continue
		}
		for _, app := range doc.Scopes {
			subs = append(subs, subscription{app: app, topic: doc.Spec.Topic, deadLetter: doc.Spec.DeadLetterTopic})
		}
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// collectRefs returns every $ref value in a decoded YAML or JSON tree.
func collectRefs(node any) []string {
	var refs []string
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if s, ok := v.(string); ok && k == "$ref" {
				refs = append(refs, s)
				continue
			}
			refs = append(refs, collectRefs(v)...)
		}
	case []any:
		for _, v := range n {
			refs = append(refs, collectRefs(v)...)
		}
	}
	return refs
}

// resolvePointer follows a JSON Pointer (RFC 6901) such as /channels/order.placed in a decoded tree.
func resolvePointer(root any, ptr string) (any, bool) {
	if ptr == "" {
		return root, true
	}
	node := root
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return node, true
}
