// Package daprx holds orderflow's adapters onto its Dapr sidecar (github.com/dapr/go-sdk): the connection,
// the kv.Store implementation over a state store, the CloudEvents publisher, output bindings, secrets, and
// the readiness checks. Services never reach a broker or database directly; everything goes through here.
package daprx

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"time"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"

	"orderflow/internal/platform/tracing"
)

// Connect returns a client for the sidecar's gRPC API on 127.0.0.1:grpcPort. Unlike dapr.NewClient it does
// not block until the sidecar answers: the app starts serving /healthz at once (daprd waits for the app
// port before it finishes starting) and /readyz reports the sidecar until it is up.
//
// Every call carries the Dapr API token (when set) and the caller's trace context. The SDK's own token
// interceptor replaces all outgoing metadata, which would drop the traceparent, so orderflow appends both
// itself.
func Connect(grpcPort int, apiToken string) (dapr.Client, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort))
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		// The sidecar is local and starts alongside the app: retry connecting quickly rather than with gRPC's
		// default backoff (1s growing to 120s), which would delay readiness by seconds.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}),
		// Wait for the connection rather than fail while it is (re)connecting — right after start, or while
		// the sidecar restarts — but never longer than callTimeout.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20), grpc.WaitForReady(true)),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, callTimeout)
				defer cancel()
			}
			return invoker(outgoing(ctx, apiToken), method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(outgoing(ctx, apiToken), desc, cc, method, opts...)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("dialing the Dapr sidecar at %s: %w", addr, err)
	}
	return dapr.NewClientWithConnection(conn), nil
}

// sidecarStartup bounds how long an app waits at start for its sidecar to answer: daprd starts alongside the
// app and has loaded its components well within it.
const sidecarStartup = 60 * time.Second

// AwaitSidecar calls fn, every 250 ms while it fails with an error that retryable accepts, until it succeeds or
// for at most a minute, for the calls an app makes at start, while its sidecar may still be starting. It returns
// fn's last error, or ctx's if ctx ends first.
func AwaitSidecar(ctx context.Context, retryable func(error) bool, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(sidecarStartup)
	for {
		err := fn(ctx)
		if err == nil || time.Now().After(deadline) || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func init() {
	// The SDK logs to stdout in its own format; orderflow logs what matters itself.
	dapr.SetLogger(log.New(io.Discard, "", 0))
}

// callTimeout bounds a sidecar call made without a deadline of its own. It exceeds the Resiliency "sidecar"
// timeout plus retries, so the sidecar's policy, not this guard, decides.
const callTimeout = 30 * time.Second

func outgoing(ctx context.Context, apiToken string) context.Context {
	var pairs []string
	if apiToken != "" {
		pairs = append(pairs, "dapr-api-token", apiToken)
	}
	if tp := tracing.From(ctx); tp.TraceID != "" {
		pairs = append(pairs, "traceparent", tp.String())
	}
	if len(pairs) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, pairs...)
}
