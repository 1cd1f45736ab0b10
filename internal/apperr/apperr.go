// Package apperr is orderflow's single error type. Domain code returns *Error values with a Code; the
// transport layers translate the Code once — into an HTTP status and problem JSON for requests, and into a
// SUCCESS/RETRY/DROP verdict for pub/sub deliveries — so no domain package imports gin or Dapr.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error by what the caller should do about it.
type Code string

const (
	// Invalid: the input is wrong and retrying it unchanged cannot succeed (HTTP 400, event DROP).
	Invalid Code = "invalid"
	// Forbidden: the caller is authenticated but may not do this with this input, such as acting for another
	// customer (HTTP 403). Never for another customer's resource, which is NotFound, so ids are no oracle.
	Forbidden Code = "forbidden"
	// NotFound: the addressed resource does not exist (HTTP 404).
	NotFound Code = "not_found"
	// Conflict: the request contradicts the resource's current state (HTTP 409).
	Conflict Code = "conflict"
	// Unavailable: a dependency failed transiently; the same request may succeed later (HTTP 503, event RETRY).
	Unavailable Code = "unavailable"
	// Internal: a bug or an unexpected failure (HTTP 500, event RETRY). Its details are logged, never shown.
	Internal Code = "internal"
)

// Error is an error with a Code, a message safe to show to clients, and an optional field it concerns.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input (JSON path such as "items[0].quantity") for Invalid errors.
	Field string
	// Err is the underlying cause; it is logged but never returned to clients.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf reports bad input in one field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and client-safe message to a cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the Code of the first *Error in err's chain, or Internal for any other non-nil error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
