package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"orderflow/apps/console/board"
	"orderflow/internal/platform/logging"
)

// Live updates are server-sent events (EventSource in the page): one long response per open page, on which
// the server writes each change as it happens. Each event carries HTML rendered by the same templates as the
// page, so the script only puts it in place.
const (
	// heartbeat keeps proxies from closing an idle stream and notices a session that ended.
	heartbeat = 15 * time.Second
	// minGap coalesces a burst: a viewer gets at most one board event per minGap, holding every order that
	// changed meanwhile, so a busy saga costs a bounded number of writes per viewer.
	minGap = 100 * time.Millisecond
)

// stream is one open event stream.
type stream struct {
	c *gin.Context
}

// openStream answers with text/event-stream and lifts the server's write timeout for this response, which
// lasts as long as the page is open.
func openStream(c *gin.Context) stream {
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-store")
	c.Header("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	// Reconnect after 2 s when the connection drops (EventSource's default is longer in some browsers).
	_, _ = c.Writer.WriteString("retry: 2000\n\n")
	c.Writer.Flush()
	return stream{c: c}
}

func (s stream) send(event string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.c.Writer, "event: %s\ndata: %s\n\n", event, raw); err != nil {
		return err
	}
	s.c.Writer.Flush()
	return nil
}

func (s stream) ping() error {
	if _, err := s.c.Writer.WriteString(": ping\n\n"); err != nil {
		return err
	}
	s.c.Writer.Flush()
	return nil
}

// alive reports whether the stream should go on after a heartbeat: the session must still be there (it may
// have been signed out, or its token expired).
func (h *handlers) alive(c *gin.Context) bool {
	cookie, _ := c.Cookie(sessionCookie)
	_, ok, err := h.Sessions.Find(c.Request.Context(), cookie)
	return ok || err != nil // a store hiccup does not end the stream; the next heartbeat looks again
}

type rowView struct {
	ID   string `json:"id"`
	HTML string `json:"html"`
}

type boardEvent struct {
	Rows    []rowView `json:"rows"`
	Summary string    `json:"summary"`
	// EventAt is the time of the newest event among the rows (Unix ms), for the page's freshness line.
	EventAt int64 `json:"eventAt,omitempty"`
}

type orderEvent struct {
	HTML    string `json:"html"`
	EventAt int64  `json:"eventAt,omitempty"`
}

// liveBoard streams the board as the viewer sees it: the whole board on connect (so a reconnecting page
// catches up), then the orders that changed. With ?order=<id> it streams that order's status and timeline
// (the order page).
func (h *handlers) liveBoard(c *gin.Context) {
	sess := sessionOf(c)
	f := filterOf(sess)
	only := c.Query("order")
	if only != "" && !idPattern.MatchString(only) {
		c.Status(http.StatusNotFound)
		return
	}
	viewer, stop, err := h.Board.Watch(f)
	if err != nil {
		c.String(http.StatusServiceUnavailable, err.Error())
		return
	}
	defer stop()
	ctx := c.Request.Context()
	s := openStream(c)
	push := func(ids []string) error {
		var err error
		if only != "" {
			err = h.pushOrder(ctx, s, sess.Admin(), f, only)
		} else {
			err = h.pushBoard(s, f, ids)
		}
		if err != nil && ctx.Err() == nil {
			logging.From(ctx).WithError(err).Warn("live board stream ended")
		}
		return err
	}
	first := []string(nil)
	if only == "" {
		for _, o := range h.Board.Board(f).Orders {
			first = append(first, o.ID)
		}
	}
	if err := push(first); err != nil {
		return
	}
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.Done:
			return
		case <-beat.C:
			if !h.alive(c) {
				_ = s.send("expired", struct{}{})
				return
			}
			if s.ping() != nil {
				return
			}
		case <-viewer.Changed():
			ids := viewer.Take()
			if only != "" && !containsID(ids, only) {
				continue
			}
			if len(ids) > 0 && push(ids) != nil {
				return
			}
			select { // coalesce what changes meanwhile
			case <-time.After(minGap):
			case <-ctx.Done():
				return
			}
		}
	}
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (h *handlers) pushBoard(s stream, f board.Filter, ids []string) error {
	ev := boardEvent{Rows: []rowView{}}
	for _, o := range h.Board.Rows(f, ids) {
		html, err := h.fragment("board-row", o)
		if err != nil {
			return err
		}
		ev.Rows = append(ev.Rows, rowView{ID: o.ID, HTML: html})
		if at := o.LastEventAt().UnixMilli(); at > ev.EventAt {
			ev.EventAt = at
		}
	}
	sum, err := h.fragment("board-summary", summary(h.Board.Board(f)))
	if err != nil {
		return err
	}
	ev.Summary = sum
	return s.send("board", ev)
}

func (h *handlers) pushOrder(ctx context.Context, s stream, admin bool, f board.Filter, id string) error {
	o, found, err := h.Board.Order(ctx, id)
	if err != nil || !found || (!admin && !f.Sees(o)) {
		// Nothing the viewer may see yet (or the store hiccupped): the page keeps what it shows.
		return nil
	}
	html, err := h.fragment("timeline", o)
	if err != nil {
		return err
	}
	return s.send("order", orderEvent{HTML: html, EventAt: o.LastEventAt().UnixMilli()})
}

func (h *handlers) liveStock(c *gin.Context) {
	liveFeed(h, c, h.stock, "stock", "stock-rows")
}

func (h *handlers) liveHealth(c *gin.Context) {
	liveFeed(h, c, h.health, "health", "health-rows")
}

// liveFeed streams a feed's value as it changes, rendered by the fragment template frag.
func liveFeed[T any](h *handlers, c *gin.Context, f *feed[T], event, frag string) {
	stop := f.watch()
	defer stop()
	ctx := c.Request.Context()
	s := openStream(c)
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	seen := 0
	for {
		value, version, changed := f.latest()
		if version > seen {
			seen = version
			html, err := h.fragment(frag, value)
			if err != nil {
				logging.From(ctx).WithError(err).Error("rendering a live fragment failed")
				return
			}
			if s.send(event, orderEvent{HTML: html}) != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-h.Done:
			return
		case <-beat.C:
			if !h.alive(c) {
				_ = s.send("expired", struct{}{})
				return
			}
			if s.ping() != nil {
				return
			}
		case <-changed:
		}
	}
}

// feed keeps the latest value of something the console polls (the catalog's stock, the services' health)
// while somebody watches it: it fetches every interval, and at once when nudged (an event that moved stock)
// or when the first watcher arrives. Watchers share the one fetch.
type feed[T any] struct {
	every time.Duration
	nudge <-chan struct{}
	fetch func(ctx context.Context) (T, error)

	mu       sync.Mutex
	value    T
	version  int
	changed  chan struct{}
	watchers int
	wake     chan struct{}
}

func newFeed[T any](every time.Duration, nudge <-chan struct{}, fetch func(ctx context.Context) (T, error)) *feed[T] {
	return &feed[T]{every: every, nudge: nudge, fetch: fetch, changed: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// watch registers a watcher; the returned func unregisters it.
func (f *feed[T]) watch() func() {
	f.mu.Lock()
	f.watchers++
	first := f.watchers == 1
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
	return func() {
		f.mu.Lock()
		f.watchers--
		f.mu.Unlock()
	}
}

// latest returns the value, its version (0 before the first fetch) and a channel closed at the next change.
func (f *feed[T]) latest() (T, int, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.value, f.version, f.changed
}

// settleDelay lets the service that consumes the same event write its change before the console reads it:
// inventory and the console receive stock.reserved independently.
const settleDelay = 250 * time.Millisecond

func (f *feed[T]) run(ctx context.Context) {
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-f.wake:
		case <-f.nudge:
			select {
			case <-time.After(settleDelay):
			case <-ctx.Done():
				return
			}
		}
		f.mu.Lock()
		idle := f.watchers == 0
		f.mu.Unlock()
		if idle {
			continue
		}
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := f.fetch(callCtx)
		cancel()
		if err != nil {
			logging.From(ctx).WithError(err).Warn("refreshing a live page failed; it keeps what it shows")
			continue
		}
		f.mu.Lock()
		f.value = v
		f.version++
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}
}
