package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gin-gonic/gin"

	"orderflow/internal/apperr"
)

// MaxBodyBytes bounds request bodies; orderflow's largest legitimate request is far below it.
const MaxBodyBytes = 1 << 20

// BindJSON decodes the request body into v strictly: unknown fields, trailing data and wrong types are
// rejected with an Invalid error naming the field, so a typo such as "quantiy" never passes silently.
func BindJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, MaxBodyBytes+1))
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "reading request body")
	}
	if len(body) > MaxBodyBytes {
		return apperr.Invalidf("body", "must be at most %d bytes", MaxBodyBytes)
	}
	return DecodeStrict(body, v)
}

// DecodeStrict is BindJSON's decoder, usable on any JSON document (request bodies, event payloads).
func DecodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Invalidf("body", "a JSON document is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeDecodeError(err)
	}
	if dec.More() {
		return apperr.Invalidf("body", "must contain a single JSON document")
	}
	return nil
}

func describeDecodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apperr.Invalidf("body", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apperr.Invalidf(field, "must be %s", article(typ.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalidf("body", "truncated JSON document")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalidf(name, "is not a known field")
	default:
		return apperr.Invalidf("body", "invalid JSON: %v", err)
	}
}

func article(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	default:
		return fmt.Sprintf("of type %s", kind)
	}
}
