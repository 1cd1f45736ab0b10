package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"orderflow/internal/events"
)

// DeadLetterTopics are the consuming apps' dead-letter topics (components/shared/subscriptions.yaml).
var DeadLetterTopics = []string{"orders.deadletter", "inventory.deadletter", "payments.deadletter", "shipping.deadletter", "notifications.deadletter"}

// Spy is an extra Dapr app run by the test process: its own sidecar subscribes (with its own consumer group)
// to every catalog topic and every dead-letter topic, and it records what arrives, so tests can assert on the
// events the services really published. Its sidecar also lets tests publish crafted events.
type Spy struct {
	prefix     string
	server     *http.Server
	listener   net.Listener
	mu         sync.Mutex
	received   map[string][][]byte
	arrived    map[string][]time.Time
	sidecar    string
	token      string
	subscribed atomic.Bool
}

func newSpy(prefix string) (*Spy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Spy{prefix: prefix, listener: ln, received: map[string][][]byte{}, arrived: map[string][]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	// Ready once the sidecar asked for the subscriptions, which it does right before it starts them.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.subscribed.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /dapr/config", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) })
	mux.HandleFunc("GET /dapr/subscribe", s.subscriptions)
	mux.HandleFunc("POST /spy/{topic}", s.record)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.server.Serve(ln) }()
	return s, nil
}

func (s *Spy) port() int { return s.listener.Addr().(*net.TCPAddr).Port }

func (s *Spy) close() { _ = s.server.Close() }

// Topics is every topic the spy watches (unprefixed).
func (s *Spy) Topics() []string {
	topics := make([]string, 0, len(events.All)+len(DeadLetterTopics))
	for _, k := range events.All {
		topics = append(topics, k.Topic)
	}
	return append(topics, DeadLetterTopics...)
}

func (s *Spy) subscriptions(w http.ResponseWriter, _ *http.Request) {
	type sub struct {
		PubsubName string `json:"pubsubname"`
		Topic      string `json:"topic"`
		Route      string `json:"route"`
	}
	var subs []sub
	defer s.subscribed.Store(true)
	for _, t := range s.Topics() {
		subs = append(subs, sub{PubsubName: "pubsub", Topic: s.prefix + t, Route: "/spy/" + t})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(subs)
}

func (s *Spy) record(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	topic := r.PathValue("topic")
	s.mu.Lock()
	s.received[topic] = append(s.received[topic], body)
	s.arrived[topic] = append(s.arrived[topic], time.Now())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"SUCCESS"}`))
}

// Received returns the raw CloudEvents that arrived on topic (unprefixed), in arrival order.
func (s *Spy) Received(topic string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.received[topic]...)
}

// Arrival is a recorded event and when it reached the spy.
type Arrival struct {
	At  time.Time
	Raw []byte
}

// Arrivals returns the raw CloudEvents that arrived on topic (unprefixed) with their arrival times, in
// arrival order.
func (s *Spy) Arrivals(topic string) []Arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Arrival, len(s.received[topic]))
	for i, raw := range s.received[topic] {
		out[i] = Arrival{At: s.arrived[topic][i], Raw: raw}
	}
	return out
}

// All returns every recorded event per topic.
func (s *Spy) All() map[string][][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][][]byte, len(s.received))
	for t, evs := range s.received {
		out[t] = append([][]byte(nil), evs...)
	}
	return out
}

// Envelope is the part of a recorded CloudEvent tests inspect.
type Envelope struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Topic   string          `json:"topic"`
	Data    json.RawMessage `json:"data"`
}

// WaitFor waits until an event on topic satisfies match, and returns it.
func (s *Spy) WaitFor(t testing.TB, topic string, timeout time.Duration, match func(Envelope) bool) Envelope {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, raw := range s.Received(topic) {
			var e Envelope
			if json.Unmarshal(raw, &e) == nil && match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("spy: no matching event on %s within %s (received %d there)", topic, timeout, len(s.Received(topic)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Publish sends a raw CloudEvent to topic (unprefixed) through the spy's sidecar, exactly as a service would.
func (s *Spy) Publish(t testing.TB, topic string, cloudEvent []byte) {
	t.Helper()
	if err := s.TryPublish(topic, cloudEvent); err != nil {
		t.Fatal(err)
	}
}

// publishClient bounds a publish: the sidecar's own Resiliency timeouts and retries end well within it.
var publishClient = &http.Client{Timeout: time.Minute}

// TryPublish is Publish for callers that expect failures (a broker under fault injection) or run outside the
// test's goroutine: it returns the error instead of failing the test.
func (s *Spy) TryPublish(topic string, cloudEvent []byte) error {
	url := fmt.Sprintf("%s/v1.0/publish/pubsub/%s%s", s.sidecar, s.prefix, topic)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(cloudEvent))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("dapr-api-token", s.token)
	resp, err := publishClient.Do(req)
	if err != nil {
		return fmt.Errorf("spy: publishing to %s: %w", topic, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("spy: publishing to %s: %s %s", topic, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
