package tests

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/events"
	"orderflow/tests/harness"
)

// chromium is Debian's headless Chromium (.ci/run installs it; locally `apt-get install chromium`).
const chromium = "/usr/bin/chromium"

// browserTimeout bounds one scenario in the browser, waits included.
const browserTimeout = 2 * time.Minute

// newBrowser starts one headless Chromium for the test, on a profile of its own, with the flags that keep it
// quiet on a machine without network (no background requests, no updates, no sync).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser tests need Debian's Chromium at %s: apt-get install -y chromium (%v)", chromium, err)
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancel)
	browser, stop := chromedp.NewContext(alloc)
	t.Cleanup(stop)
	require.NoError(t, chromedp.Do(browser), "starting Chromium")
	return browser
}

// do runs browser steps, failing the test with what it was doing.
func do(t *testing.T, ctx context.Context, doing string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, steps...), doing)
}

// read runs one browser action that returns a value.
func read[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return read(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return read(t, ctx, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// person is one browser context of its own (cookies, session) in the test's browser: one signed-in person.
func person(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, closeTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(closeTab)
	ctx, cancel := context.WithTimeout(tab, browserTimeout)
	t.Cleanup(cancel)
	return ctx
}

// signIn opens the console, which sends the browser to the development issuer's login page; there it types
// the subject (and ticks admin), and is sent back to the board.
func signIn(t *testing.T, ctx context.Context, consoleURL, subject string, admin bool) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(consoleURL + "/"),
		visible(`#sub`),
		chromedp.SendKeys(chromedp.CSS(`#sub`), subject),
	}
	if admin {
		steps = append(steps, click(`#admin`))
	}
	steps = append(steps, click(`#sign-in`), visible(`#board-rows`), visible(`#who`))
	do(t, ctx, "signing in as "+subject, steps...)
	assert.True(t, strings.HasPrefix(text(t, ctx, `#who`), subject), "signed in as %q", text(t, ctx, `#who`))
}

// screenshot saves the page as a PNG in the test's artifact folder (kept with `go test -artifacts`, which
// make integration passes).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := read(t, ctx, chromedp.FullScreenshot(100))
	path := filepath.Join(t.ArtifactDir(), name+".png")
	require.NoError(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// placeThroughTheForm fills the place-an-order form and returns the id of the order the board then shows.
func placeThroughTheForm(t *testing.T, ctx context.Context, consoleURL, sku, card string) string {
	t.Helper()
	do(t, ctx, "placing an order with "+card,
		chromedp.Navigate(consoleURL+"/orders/new"),
		visible(`#place-form`),
		chromedp.SendKeys(chromedp.CSS(`#email`), "ada@example.com"),
		chromedp.SetValue(chromedp.ID(`qty-`+sku), "1"),
		chromedp.Click(chromedp.ID(`card-`+card)),
		click(`#place`),
		visible(`#placed`),
	)
	u, err := url.Parse(read(t, ctx, chromedp.Location()))
	require.NoError(t, err)
	id := u.Query().Get("placed")
	require.NotEmpty(t, id, "the board names the placed order: %s", u)
	return id
}

// row is the board's row of an order in a status.
func row(id, status string) string {
	return `tr[data-order-id="` + id + `"][data-status="` + status + `"]`
}

// reducedMotion makes the page match prefers-reduced-motion: reduce, as a reader's setting would.
var reducedMotion = chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
	_, err := cdp.Call(ctx, tgt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}})
	return err
})

// TestConsoleInABrowser drives the console in headless Chromium against the whole system on real sidecars: a
// customer places an order through the form and watches the board show it SHIPPED, opens its detail, places
// one with a declined card and watches it fail; an operator replays a dead letter and watches that order
// ship. Every wait is for a DOM condition.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	s := startSaga(t, harness.Options{Console: true, Env: map[string]map[string]string{
		harness.ConsoleApp: {"TRACE_URL": "http://127.0.0.1:16686/trace/{traceId}"},
	}})
	console := s.url(t, harness.ConsoleApp)
	sku := "BROWSER-" + s.Suffix
	s.stock(t, sku, 1250, 10)
	browser := newBrowser(t)

	t.Run("a customer places an order through the form and watches it ship", func(t *testing.T) {
		start := time.Now()
		ctx := person(t, browser)
		signIn(t, ctx, console, "c-42", false)
		sent := time.Now()
		id := placeThroughTheForm(t, ctx, console, sku, "tok_visa")
		s.track(id)
		do(t, ctx, "waiting for the board to show "+id+" SHIPPED", visible(row(id, "SHIPPED")), visible(`#freshness[data-lag-ms]`))
		t.Logf("order %s SHIPPED on the board %s after the form was sent; the last update was on screen %s ms after its event",
			id, time.Since(sent).Round(time.Millisecond), attr(t, ctx, `#freshness`, "data-lag-ms"))
		assert.Equal(t, "SHIPPED", text(t, ctx, `#placed-status`), "the live region reads the placed order's status")
		screenshot(t, ctx, "board-shipped")

		do(t, ctx, "opening the order", click(`#order-`+id+` a`), visible(`#order-status[data-status="SHIPPED"]`), visible(`#mail`))
		assert.GreaterOrEqual(t, read(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.timeline li').length`)), 4,
			"placed, reserved, paid, dispatched")
		assert.Contains(t, text(t, ctx, `#payment`), "CHARGED")
		assert.Regexp(t, `shipping\S* published shipment\.dispatched`, text(t, ctx, `.timeline`), "who published what")
		assert.Regexp(t, `^http://127\.0\.0\.1:16686/trace/[0-9a-f]{32}$`, attr(t, ctx, `#trace-link`, "href"),
			"the trace link, from the events' traceparent")
		screenshot(t, ctx, "order-detail")

		// Readable on a phone: nothing wider than the screen; and no animation for readers who ask for none.
		do(t, ctx, "the board on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(console+"/"), visible(row(id, "SHIPPED")), reducedMotion)
		assert.False(t, read(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)),
			"the board fits a 390 px wide screen")
		assert.Equal(t, "none", read(t, ctx, chromedp.Evaluate[string](`(() => {
			const r = document.querySelector('#board-rows tr'); r.classList.add('updated'); return getComputedStyle(r).animationName; })()`)),
			"prefers-reduced-motion turns the highlight's animation off")
		screenshot(t, ctx, "board-phone")
		t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a declined card ends PAYMENT_FAILED on the board", func(t *testing.T) {
		start := time.Now()
		ctx := person(t, browser)
		signIn(t, ctx, console, "c-42", false)
		id := placeThroughTheForm(t, ctx, console, sku, "tok_declined")
		s.track(id)
		do(t, ctx, "waiting for the board to show "+id+" PAYMENT_FAILED", visible(row(id, "PAYMENT_FAILED")))
		assert.Equal(t, "card_declined", text(t, ctx, row(id, "PAYMENT_FAILED")+` .reason`))
		screenshot(t, ctx, "board-payment-failed")
		t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("an operator replays a dead letter and the order ships", func(t *testing.T) {
		start := time.Now()
		orderID := "console-replay-" + s.Suffix
		ev := events.New(events.OrderPlaced, orderID, time.Now(), events.OrderPlacedData{
			OrderID: orderID, CustomerID: "c-42", Email: "ada@example.com",
			Items: []events.Item{{SKU: sku, Quantity: 1}}, Payment: events.PaymentMethod{CardToken: "tok_visa"}, PlacedAt: time.Now().UTC(),
		})
		env, err := events.Wrap(ev, "orders", "")
		require.NoError(t, err)
		body, err := json.Marshal(env)
		require.NoError(t, err)
		// As if inventory had given up on it during an outage: no service, the console included, saw it.
		s.Spy.Publish(t, "inventory.deadletter", body)
		s.track(orderID)
		d := s.awaitDeadLetter(t, "inventory", ev.ID, "pending")

		ctx := person(t, browser)
		signIn(t, ctx, console, "ops-1", true)
		do(t, ctx, "opening the dead letter", chromedp.Navigate(console+"/deadletters"),
			visible(`tr[data-deadletter="`+d.ID+`"]`), click(`tr[data-deadletter="`+d.ID+`"] a`), visible(`#replay`))
		screenshot(t, ctx, "dead-letter")
		do(t, ctx, "replaying it", click(`#replay`), visible(`#deadletter[data-status="replayed"]`))
		assert.Equal(t, "replayed", text(t, ctx, `#deadletter-status`))
		do(t, ctx, "waiting for the replayed order to ship", chromedp.Navigate(console+"/"), visible(row(orderID, "SHIPPED")))
		screenshot(t, ctx, "board-replayed")
		t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a customer may not see the dead letters", func(t *testing.T) {
		ctx := person(t, browser)
		signIn(t, ctx, console, "c-42", false)
		assert.NotContains(t, text(t, ctx, `nav[aria-label="Main"]`), "Dead letters")
		do(t, ctx, "opening the dead letters as a customer", chromedp.Navigate(console+"/deadletters"), visible(`#problem`))
		assert.Equal(t, "Not allowed", text(t, ctx, `h1`))
	})

	s.verify(t)
	for _, id := range s.orders {
		assert.Contains(t, []string{"SHIPPED", "PAYMENT_FAILED"}, s.order(t, id).Status, "order %s", id)
	}
}
