package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"orderflow/internal/events"
	"orderflow/internal/launcher"
	"orderflow/internal/platform/daprx"
)

// ceiling is phase (a): what Dapr itself sustains here, with the services' own pub/sub component.
type ceiling struct {
	Publishers       int     `json:"publishers"`
	Seconds          float64 `json:"seconds"`
	Published        int64   `json:"published"`
	DeliveredInTime  int64   `json:"deliveredInWindow"`
	PublishesPerSec  float64 `json:"publishesPerSecond"`
	DeliveriesPerSec float64 `json:"deliveriesPerSecond"`
	DrainSeconds     float64 `json:"drainSeconds"`
}

// endpoint is a minimal Dapr app served by the bench process itself.
type endpoint struct {
	ln         net.Listener
	srv        *http.Server
	subscribed atomic.Bool
	delivered  atomic.Int64
}

func newEndpoint(topic string) (*endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &endpoint{ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if topic != "" && !e.subscribed.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /dapr/config", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) })
	mux.HandleFunc("GET /dapr/subscribe", func(w http.ResponseWriter, _ *http.Request) {
		defer e.subscribed.Store(true)
		if topic == "" {
			_, _ = w.Write([]byte("[]"))
			return
		}
		_ = json.NewEncoder(w).Encode([]map[string]string{{"pubsubname": "pubsub", "topic": topic, "route": "/sink"}})
	})
	mux.HandleFunc("POST /sink", func(w http.ResponseWriter, _ *http.Request) {
		e.delivered.Add(1)
		_, _ = w.Write([]byte(`{"status":"SUCCESS"}`))
	})
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

func (e *endpoint) port() int { return e.ln.Addr().(*net.TCPAddr).Port }

func measureCeiling(ctx context.Context, specs []launcher.Spec, o options, tmp string) (ceiling, error) {
	res := ceiling{Publishers: o.publishers}
	suffix := "ceil" + randomHex(4)
	topic := suffix + ".hop"
	sink, err := newEndpoint(topic)
	if err != nil {
		return res, err
	}
	defer sink.srv.Close()
	pubApp, err := newEndpoint("")
	if err != nil {
		return res, err
	}
	defer pubApp.srv.Close()

	base := specs[0]
	spec := func(id string, port int) launcher.Spec {
		return launcher.Spec{ID: id, Dir: base.Dir, AppPort: port, ResourcesPaths: base.ResourcesPaths, ConfigFile: base.ConfigFile,
			Protocol: "http", DaprdLogDestination: launcher.LogFile, AppLogDestination: launcher.LogFile, Env: map[string]string{}}
	}
	env := tokens()
	sys, err := launcher.Start(ctx, []launcher.Spec{spec("hoppub", pubApp.port()), spec("hopsink", sink.port())}, launcher.Options{
		Daprd: o.daprd, LogDir: filepath.Join(tmp, "ceiling-logs"), Console: discard{}, FreePorts: true, BaseEnv: env,
		Isolation: &launcher.Isolation{Suffix: suffix, TopicPrefix: suffix + ".", Dir: filepath.Join(tmp, "ceiling"),
			ExtraScopes: map[string][]string{"pubsub": {"hoppub", "hopsink"}, "secretstore": {"hoppub", "hopsink"}}},
	})
	if err != nil {
		return res, err
	}
	defer func() {
		sys.Stop()
		cleanRedis(suffix, suffix+".")
	}()

	token := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "DAPR_API_TOKEN="); ok {
			token = v
		}
	}
	client, err := daprx.Connect(sys.App("hoppub").Spec.DaprGRPCPort, token)
	if err != nil {
		return res, err
	}
	defer client.Close()
	payload, err := samplePayload()
	if err != nil {
		return res, err
	}

	window, cancel := context.WithTimeout(ctx, o.ceilingFor)
	defer cancel()
	var published atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < o.publishers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for window.Err() == nil {
				err := client.PublishEvent(window, "pubsub", topic, payload, dapr.PublishEventWithContentType("application/cloudevents+json"))
				if err == nil {
					published.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	delivered := sink.delivered.Load()
	res.Seconds, res.Published, res.DeliveredInTime = elapsed.Seconds(), published.Load(), delivered
	res.PublishesPerSec = float64(res.Published) / elapsed.Seconds()
	res.DeliveriesPerSec = float64(delivered) / elapsed.Seconds()
	drainStart := time.Now()
	for sink.delivered.Load() < res.Published && time.Since(drainStart) < time.Minute {
		time.Sleep(50 * time.Millisecond)
	}
	res.DrainSeconds = time.Since(drainStart).Seconds()
	return res, nil
}

// samplePayload is a CloudEvent the size and shape of the saga's order.placed.
func samplePayload() ([]byte, error) {
	at := time.Now().UTC()
	env, err := events.Wrap(events.New(events.OrderPlaced, "00000000-0000-4000-8000-000000000000", at, events.OrderPlacedData{
		OrderID: "00000000-0000-4000-8000-000000000000", CustomerID: "lg-max-17", Email: "customer17@example.com",
		Items:   []events.Item{{SKU: "BENCH-01", Quantity: 2}, {SKU: "BENCH-02", Quantity: 1}},
		Payment: events.PaymentMethod{CardToken: "tok_visa"}, PlacedAt: at,
	}), "bench", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if err != nil {
		return nil, err
	}
	return json.Marshal(env)
}
