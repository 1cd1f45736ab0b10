package notify

import (
	"context"
	"fmt"
	"strings"
)

// Invoker is an output binding (daprx.Binding).
type Invoker interface {
	Invoke(ctx context.Context, operation string, data []byte, meta map[string]string) ([]byte, map[string]string, error)
}

// BindingMailer sends e-mail through the output binding called "email". Its metadata serves every binding
// the profiles use: fileName for bindings.localstorage (one .eml file per message), key for object stores,
// and emailTo/emailFrom/subject for the e-mail bindings (SMTP, SendGrid, SES); each ignores the others.
type BindingMailer struct {
	binding Invoker
	from    string
}

// NewBindingMailer returns a mailer sending as from.
func NewBindingMailer(binding Invoker, from string) *BindingMailer {
	return &BindingMailer{binding: binding, from: from}
}

// Send implements Mailer.
func (m *BindingMailer) Send(ctx context.Context, e Email) error {
	var msg strings.Builder
	fmt.Fprintf(&msg, "Message-ID: <%s@orderflow>\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n", e.ID, m.from, e.To, e.Subject)
	msg.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	msg.WriteString(strings.ReplaceAll(e.Body, "\n", "\r\n"))
	meta := map[string]string{
		"fileName":  e.ID + ".eml",
		"key":       e.ID + ".eml",
		"emailTo":   e.To,
		"emailFrom": m.from,
		"subject":   e.Subject,
	}
	_, _, err := m.binding.Invoke(ctx, "create", []byte(msg.String()), meta)
	return err
}
