package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// Response is an HTTP response read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response (%d) is not the expected JSON: %v\n%s", r.Status, err, r.Body)
	}
}

var client = &http.Client{Timeout: 30 * time.Second}

// Do sends a request; body is marshalled to JSON unless it is a string or []byte (sent as is). A request to
// a running System's orders, inventory or deadletters app without an Authorization header carries a token
// of its default caller (DefaultCustomer on orders, DefaultOperator with the admin role on the other two);
// an Authorization header of "" sends none.
func Do(t testing.TB, method, url string, body any, headers map[string]string) Response {
	t.Helper()
	r, err := Send(method, url, body, headers)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Send is Do for goroutines other than the test's, which must not fail the test themselves.
func Send(method, url string, body any, headers map[string]string) (Response, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return Response{}, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if auth, named := headers["Authorization"]; !named {
		tok, ok, err := defaultToken(req.URL.Host)
		if err != nil {
			return Response{}, fmt.Errorf("%s %s: a token for the default caller: %w", method, url, err)
		}
		if ok {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	} else if auth == "" {
		req.Header.Del("Authorization")
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}
