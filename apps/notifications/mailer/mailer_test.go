package mailer_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/apps/notifications/mailer"
	"orderflow/apps/notifications/notify"
)

type recordingBinding struct {
	data []byte
	meta map[string]string
}

func (b *recordingBinding) Invoke(_ context.Context, op string, data []byte, meta map[string]string) ([]byte, map[string]string, error) {
	if op != "create" {
		return nil, nil, errors.New("unexpected operation " + op)
	}
	b.data, b.meta = data, meta
	return nil, nil, nil
}

func TestMailerShapesTheRequestForTheBinding(t *testing.T) {
	t.Parallel()
	email := notify.Email{ID: "o-1-order.placed", To: "ada@example.com", Subject: "Hi", Body: "line one\nline \"two\"\n"}
	tests := []struct {
		kind     string
		wantData string
		wantMeta map[string]string
	}{
		{"bindings.aws.ses", strconv.Quote(email.Body), map[string]string{"emailTo": "ada@example.com", "emailFrom": "shop@example.com", "subject": "Hi"}},
		{"bindings.twilio.sendgrid", email.Body, map[string]string{"emailTo": "ada@example.com", "emailFrom": "shop@example.com", "subject": "Hi"}},
		{"bindings.localstorage", "Message-ID: <o-1-order.placed@orderflow>\r\nFrom: shop@example.com\r\nTo: ada@example.com\r\nSubject: Hi\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nline one\r\nline \"two\"\r\n", map[string]string{
			"emailTo": "ada@example.com", "emailFrom": "shop@example.com", "subject": "Hi",
			"fileName": "o-1-order.placed.eml", "key": "o-1-order.placed.eml", "blobName": "o-1-order.placed.eml",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			b := &recordingBinding{}
			m := mailer.New(b, "shop@example.com", func(context.Context) (string, error) { return tc.kind, nil })
			require.NoError(t, m.Send(context.Background(), email))
			assert.Equal(t, tc.wantData, string(b.data))
			assert.Equal(t, tc.wantMeta, b.meta)
		})
	}
}

func TestMailerRetriesTheTypeLookup(t *testing.T) {
	t.Parallel()
	calls := 0
	m := mailer.New(&recordingBinding{}, "shop@example.com", func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "", errors.New("sidecar not up")
		}
		return "bindings.smtp", nil
	})
	require.Error(t, m.Send(context.Background(), notify.Email{ID: "x"}))
	require.NoError(t, m.Send(context.Background(), notify.Email{ID: "x"}))
	require.NoError(t, m.Send(context.Background(), notify.Email{ID: "x"}))
	assert.Equal(t, 2, calls, "looked up until it succeeded, then cached")
}
