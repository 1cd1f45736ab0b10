package notify_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/notifications/notify"
	"orderflow/internal/apperr"
	"orderflow/internal/events"
	"orderflow/internal/kv/kvfake"
)

// fakeMailer records what it sends. With a gate it holds every Send until the gate is closed, so a test can
// have several deliveries inside Send at once.
type fakeMailer struct {
	mu      sync.Mutex
	sent    []notify.Email
	entered int
	fail    error
	gate    chan struct{}
}

func (m *fakeMailer) Send(_ context.Context, e notify.Email) error {
	m.mu.Lock()
	m.entered++
	gate := m.gate
	m.mu.Unlock()
	if gate != nil {
		<-gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		err := m.fail
		m.fail = nil
		return err
	}
	m.sent = append(m.sent, e)
	return nil
}

func (m *fakeMailer) emails() []notify.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]notify.Email(nil), m.sent...)
}

func (m *fakeMailer) inSend() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entered
}

// clock is a settable time source, to age claims without waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	svc     *notify.Service
	mailer  *fakeMailer
	ledgers *failingLedgers
	clock   *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		mailer:  &fakeMailer{},
		ledgers: &failingLedgers{Store: kvfake.New[notify.Ledger]()},
		clock:   &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
	}
	f.svc = notify.NewService(f.ledgers, f.mailer, f.clock.Now)
	return f
}

// failingLedgers can fail the write that marks one event's e-mail sent: for good, as a crash right after
// sending would (failMarkSent), or a number of times as unavailable, as a restarting sidecar would
// (unavailableMarkSent).
type failingLedgers struct {
	*kvfake.Store[notify.Ledger]
	mu                  sync.Mutex
	failMarkSent        string
	unavailableMarkSent string
	unavailableFor      int
}

func (s *failingLedgers) Update(ctx context.Context, key string, l notify.Ledger, etag string) error {
	marksSent := func(topic string) bool { m, ok := l.Mails[topic]; return ok && m.State == notify.StateSent }
	s.mu.Lock()
	fail := marksSent(s.failMarkSent)
	unavailable := s.unavailableFor > 0 && marksSent(s.unavailableMarkSent)
	if unavailable {
		s.unavailableFor--
	}
	s.mu.Unlock()
	switch {
	case fail:
		return errors.New("process died")
	case unavailable:
		return apperr.New(apperr.Unavailable, "the sidecar is restarting")
	}
	return s.Store.Update(ctx, key, l, etag)
}

func (s *failingLedgers) setUnavailableMarkSent(topic string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unavailableMarkSent, s.unavailableFor = topic, times
}

func (s *failingLedgers) setFailMarkSent(topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failMarkSent = topic
}

func (f *fixture) history(t *testing.T, orderID string) (sent, unsent []string) {
	t.Helper()
	s, u, err := f.svc.History(context.Background(), orderID)
	require.NoError(t, err)
	for _, e := range s {
		sent = append(sent, e.Event)
	}
	for _, e := range u {
		unsent = append(unsent, e.Event+":"+string(e.State))
	}
	return sent, unsent
}

func (f *fixture) ids(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range f.mailer.emails() {
		out = append(out, e.ID)
	}
	return out
}

var (
	placed     = events.OrderPlacedData{OrderID: "o-1", CustomerID: "c-42", Email: "ada@example.com", Items: []events.Item{{SKU: "S", Quantity: 1}}}
	dispatched = events.ShipmentDispatchedData{OrderID: "o-1", Carrier: "PostNL", TrackingNumber: "T1"}
	rejected   = events.StockRejectedData{OrderID: "o-1", Reason: "no stock"}
	failed     = events.PaymentFailedData{OrderID: "o-1", Reason: "card declined"}
	cancelled  = events.OrderCancelledData{OrderID: "o-1", Reason: events.ReasonCustomerRequest}
	refunded   = events.PaymentRefundedData{OrderID: "o-1", AmountCents: 1999, Currency: "USD"}
)

// deliver hands one event to the handler its topic is routed to, as the subscriber does.
func deliver(ctx context.Context, svc *notify.Service, data any) error {
	switch d := data.(type) {
	case events.OrderPlacedData:
		return svc.OnPlaced(ctx, d.OrderID+"/order.placed", d)
	case events.StockRejectedData:
		return svc.OnRejected(ctx, d.OrderID+"/stock.rejected", d)
	case events.PaymentFailedData:
		return svc.OnPaymentFailed(ctx, d.OrderID+"/payment.failed", d)
	case events.ShipmentDispatchedData:
		return svc.OnDispatched(ctx, d.OrderID+"/shipment.dispatched", d)
	case events.OrderCancelledData:
		return svc.OnCancelled(ctx, d.OrderID+"/order.cancelled", d)
	case events.PaymentRefundedData:
		return svc.OnRefunded(ctx, d.OrderID+"/payment.refunded", d)
	}
	panic("no handler for this event")
}

func TestOneEmailPerOrderAndEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, d := range []any{placed, placed, dispatched, dispatched} {
		require.NoError(t, deliver(context.Background(), f.svc, d))
	}
	sent := f.mailer.emails()
	require.Len(t, sent, 2)
	assert.Equal(t, "ada@example.com", sent[0].To)
	assert.Equal(t, "o-1-order.placed", sent[0].ID)
	assert.Contains(t, sent[1].Body, "T1")
	history, unsent := f.history(t, "o-1")
	assert.Equal(t, []string{"order.placed", "shipment.dispatched"}, history)
	assert.Empty(t, unsent)
}

// Hole 7: an event that overtakes order.placed — by milliseconds or by a sidecar's whole processingTimeout —
// is acknowledged and mailed once order.placed arrives; it never exhausts its retries into the dead letter.
func TestEventBeforeOrderPlacedIsMailedWhenTheRecipientArrives(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		early any
		topic string
	}{
		{"rejected", rejected, "stock.rejected"},
		{"payment failed", failed, "payment.failed"},
		{"dispatched", dispatched, "shipment.dispatched"},
		{"cancelled", cancelled, "order.cancelled"},
		{"refunded", refunded, "payment.refunded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			require.NoError(t, deliver(ctx, f.svc, tc.early), "acknowledged, not retried towards the dead letter")
			require.NoError(t, deliver(ctx, f.svc, tc.early), "a redelivery while waiting changes nothing")
			assert.Empty(t, f.mailer.emails(), "no address yet")
			_, unsent := f.history(t, "o-1")
			assert.Equal(t, []string{tc.topic + ":waiting_for_recipient"}, unsent)

			require.NoError(t, deliver(ctx, f.svc, placed))
			assert.Equal(t, []string{"o-1-order.placed", "o-1-" + tc.topic}, f.ids(t), "the confirmation first, then what waited")
			sent, unsent := f.history(t, "o-1")
			assert.Equal(t, []string{"order.placed", tc.topic}, sent)
			assert.Empty(t, unsent)
		})
	}
}

// Hole 8: concurrent duplicate deliveries of one event send one e-mail: the first claims it before sending,
// the others find the claim and ask for redelivery, which then finds it sent.
func TestConcurrentDuplicateDeliveriesSendOneEmail(t *testing.T) {
	t.Parallel()
	const copies = 8
	tests := []struct {
		name   string
		before []any
		event  any
		want   []string
	}{
		{"order placed", nil, placed, []string{"o-1-order.placed"}},
		{"shipment dispatched", []any{placed}, dispatched, []string{"o-1-order.placed", "o-1-shipment.dispatched"}},
		{"payment failed", []any{placed}, failed, []string{"o-1-order.placed", "o-1-payment.failed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			for _, d := range tc.before {
				require.NoError(t, deliver(ctx, f.svc, d))
			}
			before := f.mailer.inSend()
			f.mailer.gate = make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var done, retried int
			for range copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := deliver(ctx, f.svc, tc.event)
					mu.Lock()
					defer mu.Unlock()
					done++
					if err != nil {
						assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "a duplicate is retried, not dropped: %v", err)
						retried++
					}
				}()
			}
			// Every copy is either held in Send or has answered: only then may the held sends finish.
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return f.mailer.inSend()-before+done == copies
			}, 5*time.Second, time.Millisecond)
			close(f.mailer.gate)
			wg.Wait()
			for range retried {
				require.NoError(t, deliver(ctx, f.svc, tc.event), "the redelivery finds the e-mail sent")
			}
			assert.Equal(t, tc.want, f.ids(t), "one e-mail per event")
		})
	}
}

// Hole 8: the first outcome recorded is the one the customer hears about; a contradicting later one is
// withheld, and a refund, which reports money actually returned, is always mailed.
func TestContradictingOutcomeIsWithheld(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		events     []any
		wantSent   []string
		wantUnsent []string
	}{
		{"cancelled after payment failed", []any{placed, failed, cancelled},
			[]string{"order.placed", "payment.failed"}, []string{"order.cancelled:withheld"}},
		{"payment failed after cancelled", []any{placed, cancelled, failed},
			[]string{"order.placed", "order.cancelled"}, []string{"payment.failed:withheld"}},
		{"cancelled after rejected", []any{placed, rejected, cancelled},
			[]string{"order.placed", "stock.rejected"}, []string{"order.cancelled:withheld"}},
		{"both before order placed", []any{failed, cancelled, placed},
			[]string{"order.placed", "payment.failed"}, []string{"order.cancelled:withheld"}},
		{"refund after cancellation", []any{placed, cancelled, refunded},
			[]string{"order.placed", "order.cancelled", "payment.refunded"}, nil},
		{"redelivered outcome stays mailed", []any{placed, failed, cancelled, failed, cancelled},
			[]string{"order.placed", "payment.failed"}, []string{"order.cancelled:withheld"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			for _, d := range tc.events {
				require.NoError(t, deliver(context.Background(), f.svc, d))
			}
			sent, unsent := f.history(t, "o-1")
			assert.Equal(t, tc.wantSent, sent)
			assert.Equal(t, tc.wantUnsent, unsent)
			assert.Len(t, f.mailer.emails(), len(tc.wantSent), "nothing else reached the mailer")
		})
	}
}

func TestFailedSendIsRetriedNotLogged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.mailer.fail = errors.New("smtp down")
	require.Error(t, deliver(ctx, f.svc, placed))
	sent, unsent := f.history(t, "o-1")
	assert.Empty(t, sent, "an e-mail that was not sent is not in the log")
	assert.Equal(t, []string{"order.placed:sending"}, unsent)
	require.NoError(t, deliver(ctx, f.svc, placed), "the failed attempt gave its claim back")
	assert.Len(t, f.mailer.emails(), 1)
}

// A delivery that sent but died before recording it leaves a claim; the redelivery waits for the claim to
// expire, then sends the same message (same id) again and records it.
func TestClaimOfADeadAttemptIsTakenOverAfterItsLease(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, deliver(ctx, f.svc, placed))
	f.ledgers.setFailMarkSent("shipment.dispatched")
	require.Error(t, deliver(ctx, f.svc, dispatched))
	f.ledgers.setFailMarkSent("")

	err := deliver(ctx, f.svc, dispatched)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "the claim is fresh: it may still be sending")
	f.clock.advance(time.Minute)
	require.NoError(t, deliver(ctx, f.svc, dispatched))
	assert.Equal(t, []string{"o-1-order.placed", "o-1-shipment.dispatched", "o-1-shipment.dispatched"}, f.ids(t),
		"re-sent with the same id, which the provider can deduplicate")
	require.NoError(t, deliver(ctx, f.svc, dispatched))
	assert.Len(t, f.mailer.emails(), 3, "recorded as sent now")
}

// TestSentEmailIsRecordedThroughASidecarRestart: the e-mail went out, then the store became unavailable for a
// moment (the notifications sidecar was killed and restarted). The delivery must keep trying to record it
// rather than leave its claim to expire, or the redelivery would send the e-mail a second time.
func TestSentEmailIsRecordedThroughASidecarRestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	require.NoError(t, deliver(ctx, f.svc, placed))
	f.ledgers.setUnavailableMarkSent("shipment.dispatched", 3)
	require.NoError(t, deliver(ctx, f.svc, dispatched), "recorded once the store answers again")
	f.clock.advance(time.Minute)
	require.NoError(t, deliver(ctx, f.svc, dispatched), "the redelivery finds it sent")
	assert.Equal(t, []string{"o-1-order.placed", "o-1-shipment.dispatched"}, f.ids(t), "sent once")
}

func TestEmailsForEveryNotifiedKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		event any
		want  string
	}{
		{"rejected", events.StockRejectedData{OrderID: "o-1", Reason: "SKU-9 is unknown"}, "SKU-9 is unknown"},
		{"payment failed", failed, "card declined"},
		{"cancelled", cancelled, "as you asked"},
		{"expired", events.OrderCancelledData{OrderID: "o-1", Reason: events.ReasonReservationExpired}, "did not arrive in time"},
		{"refunded", refunded, "19.99 USD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			require.NoError(t, deliver(context.Background(), f.svc, placed))
			require.NoError(t, deliver(context.Background(), f.svc, tc.event))
			sent := f.mailer.emails()
			require.Len(t, sent, 2)
			assert.Contains(t, sent[1].Body, tc.want)
		})
	}
}

func TestHistoryNeedsAnOrderID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, _, err := f.svc.History(context.Background(), "")
	assert.Equal(t, apperr.Invalid, apperr.CodeOf(err))
	sent, unsent, err := f.svc.History(context.Background(), "unknown")
	require.NoError(t, err)
	assert.Empty(t, sent)
	assert.Empty(t, unsent)
}
