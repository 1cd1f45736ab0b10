// Package mailer is the notifications service's adapter for e-mail: it sends notify.Email messages through
// the "email" output binding, shaping each request for whatever component a profile puts behind that name.
package mailer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"orderflow/apps/notifications/notify"
	"orderflow/internal/platform/daprx"
)

// Binding sends e-mail through the output binding called "email", whatever component a profile puts
// behind that name. E-mail services want the body as data and the envelope as metadata (SES wants the body
// JSON-quoted); local and object storage get the whole message as a file named after the e-mail's id.
type Binding struct {
	binding daprx.Invoker
	from    string
	// typeOf reports the binding's component type (daprx.ComponentType), looked up on first use.
	typeOf func(ctx context.Context) (string, error)
	mu     sync.Mutex
	kind   string
}

// New returns a mailer sending as from.
func New(binding daprx.Invoker, from string, typeOf func(ctx context.Context) (string, error)) *Binding {
	return &Binding{binding: binding, from: from, typeOf: typeOf}
}

// Send implements notify.Mailer.
func (m *Binding) Send(ctx context.Context, e notify.Email) error {
	kind, err := m.bindingType(ctx)
	if err != nil {
		return fmt.Errorf("finding the email binding's type: %w", err)
	}
	data, meta := m.request(kind, e)
	_, _, err = m.binding.Invoke(ctx, "create", data, meta)
	return err
}

func (m *Binding) bindingType(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kind == "" {
		kind, err := m.typeOf(ctx)
		if err != nil {
			return "", err
		}
		m.kind = kind
	}
	return m.kind, nil
}

func (m *Binding) request(kind string, e notify.Email) ([]byte, map[string]string) {
	envelope := map[string]string{"emailTo": e.To, "emailFrom": m.from, "subject": e.Subject}
	switch kind {
	case "bindings.aws.ses":
		return []byte(strconv.Quote(e.Body)), envelope
	case "bindings.twilio.sendgrid", "bindings.smtp":
		return []byte(e.Body), envelope
	}
	name := e.ID + ".eml"
	envelope["fileName"], envelope["key"], envelope["blobName"] = name, name, name
	return []byte(m.message(e)), envelope
}

// message renders e as an RFC 5322 message.
func (m *Binding) message(e notify.Email) string {
	var msg strings.Builder
	fmt.Fprintf(&msg, "Message-ID: <%s@orderflow>\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n", e.ID, m.from, e.To, e.Subject)
	msg.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	msg.WriteString(strings.ReplaceAll(e.Body, "\n", "\r\n"))
	return msg.String()
}
