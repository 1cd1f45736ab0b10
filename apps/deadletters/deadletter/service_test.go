package deadletter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/deadletters/deadletter"
	"orderflow/internal/apperr"
	"orderflow/internal/kv/kvfake"
)

const prefix = "p."

var ctx = context.Background()

type published struct {
	topic string
	event []byte
}

// fakeRepublisher records what a replay publishes and can be told to fail.
type fakeRepublisher struct {
	mu       sync.Mutex
	sent     []published
	failNext error
}

func (f *fakeRepublisher) Republish(_ context.Context, topic string, event []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	f.sent = append(f.sent, published{topic, event})
	return nil
}

func (f *fakeRepublisher) published() []published {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]published(nil), f.sent...)
}

// clock ticks one second per reading, so arrivals are strictly ordered.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type fixture struct {
	svc     *deadletter.Service
	records *kvfake.Store[deadletter.DeadLetter]
	index   *kvfake.Store[deadletter.Index]
	pub     *fakeRepublisher
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	f := fixture{records: kvfake.New[deadletter.DeadLetter](), index: kvfake.New[deadletter.Index](), pub: &fakeRepublisher{}}
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.svc = deadletter.NewService(f.records, f.index, f.pub, prefix, c.now)
	return f
}

// cloudEvent is a CloudEvent as a publishing sidecar leaves it on the broker, topic attribute included.
func cloudEvent(id, topic string) []byte {
	return []byte(`{"specversion":"1.0","id":"` + id + `","source":"orders","type":"orderflow.order.placed.v1",` +
		`"subject":"o-1","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",` +
		`"datacontenttype":"application/json","data":{"orderId":"o-1"},"topic":"` + topic + `","pubsubname":"pubsub"}`)
}

func (f fixture) receive(t *testing.T, consumer string, body []byte) deadletter.DeadLetter {
	t.Helper()
	d, err := f.svc.Receive(ctx, consumer, body)
	require.NoError(t, err)
	return d
}

func (f fixture) indexed(t *testing.T) []string {
	t.Helper()
	ix, _, err := f.index.Get(ctx, "index")
	require.NoError(t, err)
	ids := make([]string, len(ix.Entries))
	for i, e := range ix.Entries {
		ids[i] = e.ID
	}
	return ids
}

func TestReceiveKeepsWhatArrived(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       []byte
		wantTopic  string
		wantType   string
		wantEvent  bool
		wantRaw    bool
		parseError string
	}{
		{"a CloudEvent keeps its original topic", cloudEvent("o-1/order.placed", prefix+"order.placed"),
			prefix + "order.placed", "orderflow.order.placed.v1", true, false, ""},
		{"without a topic attribute the type's catalog topic stands in",
			[]byte(`{"specversion":"1.0","id":"x-1","type":"orderflow.stock.reserved.v1","data":{}}`),
			prefix + "stock.reserved", "orderflow.stock.reserved.v1", true, false, ""},
		{"published straight to the dead-letter topic, the type's catalog topic stands in",
			[]byte(`{"specversion":"1.0","id":"x-1","type":"orderflow.order.placed.v1","topic":"p.inventory.deadletter","data":{}}`),
			prefix + "order.placed", "orderflow.order.placed.v1", true, false, ""},
		{"a body that is not JSON is kept raw", []byte("\x00not json"), "", "", false, true, "not JSON"},
		{"JSON that is not an object", []byte(`["a"]`), "", "", true, false, "not a JSON object"},
		{"a CloudEvent without an id", []byte(`{"specversion":"1.0","type":"t","topic":"p.order.placed"}`), "", "", true, false, "no id"},
		{"an id that is not a string", []byte(`{"id":7,"topic":"p.order.placed"}`), "", "", true, false, "no id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			d := f.receive(t, "inventory", tc.body)
			assert.Equal(t, deadletter.Pending, d.Status)
			assert.Equal(t, "inventory", d.Consumer)
			assert.Equal(t, prefix+"inventory.deadletter", d.DeadLetterTopic)
			assert.Equal(t, tc.wantTopic, d.Topic)
			assert.Equal(t, tc.wantType, d.EventType)
			assert.Equal(t, 1, d.Arrivals)
			assert.NotEmpty(t, d.EventID, "even an unreadable dead letter has an identity, to deduplicate it")
			if tc.parseError == "" {
				assert.Empty(t, d.ParseError)
			} else {
				assert.Contains(t, d.ParseError, tc.parseError)
			}
			if tc.wantEvent {
				assert.JSONEq(t, string(tc.body), string(d.Event), "the event is kept intact")
			}
			if tc.wantRaw {
				assert.Equal(t, tc.body, d.Raw)
			}
			got, err := f.svc.Get(ctx, d.ID)
			require.NoError(t, err)
			assert.Equal(t, d.ID, got.ID)
			assert.Equal(t, []string{d.ID}, f.indexed(t))
		})
	}
}

func TestReceiveKeepsTheCloudEventAttributes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.receive(t, "orders", cloudEvent("o-1/order.placed", prefix+"order.placed"))
	assert.Equal(t, "o-1/order.placed", d.EventID)
	assert.Equal(t, "orders", d.Source)
	assert.Equal(t, "o-1", d.Subject)
	assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", d.TraceParent)
	var data struct {
		Data json.RawMessage `json:"data"`
	}
	require.NoError(t, json.Unmarshal(d.Event, &data))
	assert.JSONEq(t, `{"orderId":"o-1"}`, string(data.Data))
}

func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body []byte
	}{
		{"a CloudEvent", cloudEvent("o-1/order.placed", prefix+"order.placed")},
		{"a body that is not JSON", []byte("garbage")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			first := f.receive(t, "orders", tc.body)
			again := f.receive(t, "orders", tc.body)
			assert.Equal(t, first, again)
			stored, err := f.svc.Get(ctx, first.ID)
			require.NoError(t, err)
			assert.Equal(t, first.ArrivedAt, stored.ArrivedAt)
			assert.Equal(t, 1, stored.Arrivals)
			assert.Len(t, f.records.Keys(), 1)
			assert.Equal(t, []string{first.ID}, f.indexed(t))
		})
	}
}

func TestConcurrentDuplicatesKeepOneDeadLetter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := cloudEvent("o-1/order.placed", prefix+"order.placed")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := f.svc.Receive(ctx, "orders", body)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, f.records.Keys(), 1)
	assert.Len(t, f.indexed(t), 1)
}

func TestTheSameEventFromTwoConsumersIsTwoDeadLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := cloudEvent("o-1/order.placed", prefix+"order.placed")
	a, b := f.receive(t, "orders", body), f.receive(t, "inventory", body)
	assert.NotEqual(t, a.ID, b.ID)
	assert.ElementsMatch(t, []string{a.ID, b.ID}, f.indexed(t))
}

func TestReceiveFailsWhenTheStoreDoes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.records.FailNext(apperr.New(apperr.Unavailable, "store down"))
	_, err := f.svc.Receive(ctx, "orders", cloudEvent("o-1/order.placed", prefix+"order.placed"))
	require.Error(t, err, "the caller asks for redelivery")
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err))
	// The redelivery succeeds, and a crash between record and index is repaired the same way.
	f.index.FailNext(apperr.New(apperr.Unavailable, "store down"))
	_, err = f.svc.Receive(ctx, "orders", cloudEvent("o-1/order.placed", prefix+"order.placed"))
	require.Error(t, err)
	d := f.receive(t, "orders", cloudEvent("o-1/order.placed", prefix+"order.placed"))
	assert.Equal(t, []string{d.ID}, f.indexed(t))
}

func TestReplay(t *testing.T) {
	t.Parallel()
	valid := cloudEvent("o-1/order.placed", prefix+"order.placed")
	tests := []struct {
		name      string
		body      []byte
		before    func(f fixture, id string) error
		id        func(id string) string
		wantCode  apperr.Code
		wantField string
		wantSent  int
		wantCount int
	}{
		{name: "a pending dead letter goes back to its original topic", body: valid, wantSent: 1, wantCount: 1},
		{name: "replaying twice is harmless", body: valid, before: func(f fixture, id string) error {
			_, err := f.svc.Replay(ctx, id)
			return err
		}, wantSent: 2, wantCount: 2},
		{name: "a discarded dead letter stays discarded", body: valid, before: func(f fixture, id string) error {
			_, err := f.svc.Discard(ctx, id)
			return err
		}, wantCode: apperr.Conflict},
		{name: "an unreadable dead letter cannot be replayed", body: []byte("garbage"), wantCode: apperr.Conflict},
		{name: "only to one of the catalog's topics", body: cloudEvent("x", "elsewhere"), wantCode: apperr.Conflict},
		{name: "unknown id", body: valid, id: func(string) string { return strings.Repeat("0", 24) }, wantCode: apperr.NotFound},
		{name: "malformed id", body: valid, id: func(string) string { return "nope" }, wantCode: apperr.Invalid, wantField: "id"},
		{name: "a failed publish leaves it pending", body: valid, before: func(f fixture, _ string) error {
			f.pub.failNext = apperr.New(apperr.Unavailable, "broker down")
			return nil
		}, wantCode: apperr.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			d := f.receive(t, "inventory", tc.body)
			if tc.before != nil {
				require.NoError(t, tc.before(f, d.ID))
			}
			id := d.ID
			if tc.id != nil {
				id = tc.id(d.ID)
			}
			before, err := f.svc.Get(ctx, d.ID)
			require.NoError(t, err)
			got, err := f.svc.Replay(ctx, id)
			sent := f.pub.published()
			if tc.wantCode != "" {
				require.Error(t, err)
				assert.Equal(t, tc.wantCode, apperr.CodeOf(err))
				if e, ok := apperr.As(err); ok {
					assert.Equal(t, tc.wantField, e.Field)
				}
				assert.Len(t, sent, tc.wantSent)
				after, err := f.svc.Get(ctx, d.ID)
				require.NoError(t, err)
				assert.Equal(t, before, after, "a refused or failed replay changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, deadletter.Replayed, got.Status)
			assert.Equal(t, tc.wantCount, got.Replays)
			assert.NotNil(t, got.ReplayedAt)
			require.Len(t, sent, tc.wantSent)
			for _, p := range sent {
				assert.Equal(t, prefix+"order.placed", p.topic)
				assert.JSONEq(t, string(tc.body), string(p.event), "the original CloudEvent, unchanged")
			}
		})
	}
}

func TestDiscard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		before   func(f fixture, id string) error
		id       func(id string) string
		wantCode apperr.Code
	}{
		{name: "a pending dead letter is discarded"},
		{name: "discarding twice is harmless", before: func(f fixture, id string) error {
			_, err := f.svc.Discard(ctx, id)
			return err
		}},
		{name: "a replayed dead letter cannot be discarded", before: func(f fixture, id string) error {
			_, err := f.svc.Replay(ctx, id)
			return err
		}, wantCode: apperr.Conflict},
		{name: "unknown id", id: func(string) string { return strings.Repeat("a", 24) }, wantCode: apperr.NotFound},
		{name: "malformed id", id: func(string) string { return "../x" }, wantCode: apperr.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			d := f.receive(t, "payments", cloudEvent("o-1/stock.reserved", prefix+"stock.reserved"))
			if tc.before != nil {
				require.NoError(t, tc.before(f, d.ID))
			}
			id := d.ID
			if tc.id != nil {
				id = tc.id(d.ID)
			}
			got, err := f.svc.Discard(ctx, id)
			if tc.wantCode != "" {
				require.Error(t, err)
				assert.Equal(t, tc.wantCode, apperr.CodeOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, deadletter.Discarded, got.Status)
			require.NotNil(t, got.DiscardedAt)
			assert.Empty(t, f.pub.published(), "discarding publishes nothing")
		})
	}
}

func TestADeadLetterThatDiesAgainAfterItsReplayIsPendingAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := cloudEvent("o-1/order.placed", prefix+"order.placed")
	d := f.receive(t, "inventory", body)
	_, err := f.svc.Replay(ctx, d.ID)
	require.NoError(t, err)
	again := f.receive(t, "inventory", body)
	assert.Equal(t, d.ID, again.ID)
	assert.Equal(t, deadletter.Pending, again.Status)
	assert.Equal(t, 2, again.Arrivals)
	assert.Equal(t, d.ArrivedAt, again.ArrivedAt)
	assert.True(t, again.LastArrivedAt.After(d.ArrivedAt))
	assert.Len(t, f.indexed(t), 1)
}

func TestListIsNewestFirstFilteredAndPaged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var ids []string // oldest first
	for i := range 5 {
		ids = append(ids, f.receive(t, "shipping", cloudEvent(fmt.Sprintf("o-%d/payment.succeeded", i), prefix+"payment.succeeded")).ID)
	}
	_, err := f.svc.Discard(ctx, ids[3])
	require.NoError(t, err)
	_, err = f.svc.Replay(ctx, ids[1])
	require.NoError(t, err)

	collect := func(status deadletter.Status, limit int) (pages [][]string) {
		t.Helper()
		cursor := ""
		for {
			page, err := f.svc.List(ctx, status, limit, cursor)
			require.NoError(t, err)
			var got []string
			for _, d := range page.DeadLetters {
				assert.Nil(t, d.Event, "listings leave the bodies out")
				got = append(got, d.ID)
			}
			pages = append(pages, got)
			if page.Next == "" {
				return pages
			}
			cursor = page.Next
		}
	}
	tests := []struct {
		name   string
		status deadletter.Status
		limit  int
		want   [][]string
	}{
		{"everything on one page", "", 10, [][]string{{ids[4], ids[3], ids[2], ids[1], ids[0]}}},
		{"pages of two", "", 2, [][]string{{ids[4], ids[3]}, {ids[2], ids[1]}, {ids[0]}}},
		{"an exact fit ends without a cursor", "", 5, [][]string{{ids[4], ids[3], ids[2], ids[1], ids[0]}}},
		{"pending only", deadletter.Pending, 2, [][]string{{ids[4], ids[2]}, {ids[0]}}},
		{"discarded only", deadletter.Discarded, 10, [][]string{{ids[3]}}},
		{"replayed only", deadletter.Replayed, 1, [][]string{{ids[1]}, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, collect(tc.status, tc.limit))
		})
	}
}

func TestListRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cursor, field string
		limit               int
	}{
		{"limit zero", "", "limit", 0},
		{"limit too large", "", "limit", deadletter.MaxPage + 1},
		{"cursor not base64", "%%%", "cursor", 10},
		{"cursor of something else", "aGVsbG8", "cursor", 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := newFixture(t).svc.List(ctx, "", tc.limit, tc.cursor)
			e, ok := apperr.As(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, apperr.Invalid, e.Code)
			assert.Equal(t, tc.field, e.Field)
		})
	}
}

func TestListOfNothingIsEmpty(t *testing.T) {
	t.Parallel()
	page, err := newFixture(t).svc.List(ctx, deadletter.Pending, 10, "")
	require.NoError(t, err)
	assert.Empty(t, page.DeadLetters)
	assert.NotNil(t, page.DeadLetters, "encodes as []")
	assert.Empty(t, page.Next)
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{{"pending", "pending", true}, {"replayed", "replayed", true}, {"discarded", "discarded", true}, {"unknown", "PENDING", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := deadletter.ParseStatus(tc.in)
			assert.Equal(t, tc.ok, err == nil)
			if !tc.ok {
				e, _ := apperr.As(err)
				assert.Equal(t, "status", e.Field)
			}
		})
	}
}
