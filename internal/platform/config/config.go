// Package config loads a service's configuration: one struct per service, read from environment variables
// with defaults (github.com/caarlos0/env), validated at start-up so a bad value stops the process with a
// message naming the variable, and rendered for the start-up log with secrets masked.
//
// Struct tags: `env:"NAME"` and `envDefault:"value"` (see caarlos0/env), plus `secret:"true"` on fields whose
// value must never be logged.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by configs with rules beyond parsing (ranges, combinations).
type Validator interface {
	Validate() error
}

// Load fills cfg (a pointer to a struct) from the environment and validates it.
func Load(cfg any) error {
	if err := env.Parse(cfg); err != nil {
		return fmt.Errorf("configuration: %w", nameVariables(err, cfg))
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
	}
	return nil
}

// Describe renders cfg as NAME=value pairs for logging, masking fields tagged secret:"true".
func Describe(cfg any) map[string]string {
	out := map[string]string{}
	describe(reflect.Indirect(reflect.ValueOf(cfg)), out)
	return out
}

func describe(v reflect.Value, out map[string]string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		name := strings.Split(f.Tag.Get("env"), ",")[0]
		if name == "" && fv.Kind() == reflect.Struct {
			describe(fv, out)
			continue
		}
		if name == "" {
			continue
		}
		val := fmt.Sprint(fv.Interface())
		if f.Tag.Get("secret") == "true" {
			val = mask(val)
		}
		out[name] = val
	}
}

// nameVariables rewrites the library's parse errors, which name Go struct fields, so they name the
// environment variable the operator has to fix.
func nameVariables(err error, cfg any) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := map[string][]string{}
	fieldKeys(reflect.Indirect(reflect.ValueOf(cfg)).Type(), keys)
	msgs := make([]string, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && len(keys[pe.Name]) > 0 {
			msgs = append(msgs, fmt.Sprintf("%s: invalid value: %v", strings.Join(keys[pe.Name], " or "), pe.Err))
			continue
		}
		msgs = append(msgs, e.Error())
	}
	return errors.New(strings.Join(msgs, "; "))
}

func fieldKeys(t reflect.Type, out map[string][]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("env"), ",")[0]
		if name == "" && f.Type.Kind() == reflect.Struct {
			fieldKeys(f.Type, out)
			continue
		}
		if name != "" {
			out[f.Name] = append(out[f.Name], name)
		}
	}
}

func mask(s string) string {
	if s == "" {
		return "(unset)"
	}
	return "********"
}
