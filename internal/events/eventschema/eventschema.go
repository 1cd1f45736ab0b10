// Package eventschema checks CloudEvents against orderflow's published event contract: the JSON Schemas in
// docs/events. Those schemas, not the Go structs in package events, are what a service written in another
// language codes against, so tests use this package to prove that what the Go services emit is what the
// contract promises, and tools can use it to vet events found on a broker or a dead-letter topic.
//
// A CloudEvent is valid when its envelope matches cloudevent.schema.json and its data matches the schema of
// its type (<topic>.schema.json, found through events.ByType). Schemas reference each other by their
// https://orderflow.dev/schemas/events/ $id; Load maps those ids to the local files and never goes to the
// network, so validation works offline and always against the checked-out contract.
package eventschema

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"orderflow/internal/events"
)

// EnvelopeSchema is the file, in the schema directory, that describes the CloudEvent envelope.
const EnvelopeSchema = "cloudevent.schema.json"

// Validator validates CloudEvents against the compiled schemas. It is safe for concurrent use.
type Validator struct {
	envelope *jsonschema.Schema
	data     map[string]*jsonschema.Schema // by CloudEvent type
}

// Load compiles every *.schema.json in dir (the docs/events folder). Each file's $id must be
// events.SchemaBaseURI followed by its file name, which is how $refs between the files resolve. Load fails if
// the envelope schema or the schema of any kind in events.All is missing or does not compile, so a Validator
// always covers the whole catalog.
func Load(dir string) (*Validator, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.schema.json"))
	if err != nil {
		return nil, fmt.Errorf("listing schemas in %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.schema.json files in %s", dir)
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// Draft 2020-12 treats format as an annotation by default, but a time that is not RFC 3339 breaks
	// consumers just as a wrong type does, so the contract asserts formats.
	c.AssertFormat()
	c.UseLoader(offlineLoader{dir: dir})

	urls := make([]string, 0, len(paths))
	for _, path := range paths {
		url, err := addResource(c, path)
		if err != nil {
			return nil, err
		}
		urls = append(urls, url)
	}

	v := &Validator{data: make(map[string]*jsonschema.Schema, len(events.All))}
	// Compile every file, not only those the catalog names, so a broken shared definition fails here rather
	// than on the first event that happens to reach it.
	compiled := make(map[string]*jsonschema.Schema, len(urls))
	for _, url := range urls {
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("compiling %s: %w", url, err)
		}
		compiled[url] = sch
	}

	var ok bool
	if v.envelope, ok = compiled[events.SchemaBaseURI+EnvelopeSchema]; !ok {
		return nil, fmt.Errorf("envelope schema %s is missing", filepath.Join(dir, EnvelopeSchema))
	}
	var missing []string
	for _, k := range events.All {
		sch, ok := compiled[events.SchemaBaseURI+k.Schema()]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (for %s)", filepath.Join(dir, k.Schema()), k.Type))
			continue
		}
		v.data[k.Type] = sch
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("schemas missing for catalog kinds: %s", strings.Join(missing, ", "))
	}
	return v, nil
}

// addResource registers the schema file at path under its $id and returns that id.
func addResource(c *jsonschema.Compiler, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return "", fmt.Errorf("reading schema %s: %w", path, err)
	}
	want := events.SchemaBaseURI + filepath.Base(path)
	obj, _ := doc.(map[string]any)
	if id, _ := obj["$id"].(string); id != want {
		// dataschema values and $refs name the files by this id; a mismatch would resolve to the wrong file.
		return "", fmt.Errorf("schema %s: $id is %q, want %q", path, id, want)
	}
	if err := c.AddResource(want, doc); err != nil {
		return "", fmt.Errorf("registering schema %s: %w", path, err)
	}
	return want, nil
}

// offlineLoader is consulted only for URLs that are not among the local schema files; it refuses them, so a
// mistyped $ref fails loudly instead of being fetched from the network.
type offlineLoader struct{ dir string }

func (l offlineLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s is not one of the *.schema.json files in %s, and schemas are never fetched", url, l.dir)
}

// Validate checks one structured-mode CloudEvent: the envelope against cloudevent.schema.json, then data
// against the schema of the event's type. An unknown type, or a dataschema that names another type's schema,
// is an error too. Every violation found is reported in a *ValidationError, not only the first.
func (v *Validator) Validate(cloudEvent []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(cloudEvent))
	if err != nil {
		return fmt.Errorf("CloudEvent is not a JSON document: %w", err)
	}
	obj, _ := doc.(map[string]any)
	id, _ := obj["id"].(string)
	typ, _ := obj["type"].(string)
	verr := &ValidationError{EventID: id, Type: typ}

	verr.collect("", v.envelope.Validate(doc))
	if obj == nil {
		return verr.orNil()
	}
	k, known := events.ByType(typ)
	switch {
	case known:
		if data, ok := obj["data"]; ok {
			verr.collect("/data", v.data[k.Type].Validate(data))
		}
		want := events.SchemaBaseURI + k.Schema()
		if ds, ok := obj["dataschema"].(string); ok && ds != want {
			verr.add("/dataschema", fmt.Sprintf("is %q, but events of type %s follow %q", ds, k.Type, want))
		}
	case typ != "" && !verr.reported("/type"):
		verr.add("/type", fmt.Sprintf("%q is not a type in the event catalog (events.All)", typ))
	}
	return verr.orNil()
}

// ValidationError lists why a CloudEvent does not match the contract.
type ValidationError struct {
	// EventID and Type identify the event, as far as it had them.
	EventID string
	Type    string
	// Violations is sorted by path.
	Violations []Violation
}

// Violation is one failed constraint.
type Violation struct {
	// Path is a JSON Pointer into the CloudEvent, such as /data/items/0/quantity; "" is the whole event.
	Path    string
	Message string
}

func (v Violation) String() string {
	path := v.Path
	if path == "" {
		path = "/"
	}
	return path + ": " + v.Message
}

func (e *ValidationError) Error() string {
	id, typ := e.EventID, e.Type
	if id == "" {
		id = "(no id)"
	}
	if typ == "" {
		typ = "(no type)"
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return fmt.Sprintf("event %s of type %s does not match its schema: %s", id, typ, strings.Join(parts, "; "))
}

// printer renders the library's error messages; English is the only language orderflow logs in.
var printer = message.NewPrinter(language.English)

// collect adds the leaf failures of a schema validation error, with paths prefixed by prefix (the location of
// the validated value in the CloudEvent). Leaves are the constraints that actually failed; the inner nodes
// only say which $ref or property led there.
func (e *ValidationError) collect(prefix string, err error) {
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		e.add(prefix, err.Error())
		return
	}
	var walk func(ve *jsonschema.ValidationError)
	walk = func(ve *jsonschema.ValidationError) {
		if len(ve.Causes) > 0 {
			for _, c := range ve.Causes {
				walk(c)
			}
			return
		}
		at := prefix + pointer(ve.InstanceLocation)
		// Missing and unexpected properties are reported on the property itself, like a field error, rather
		// than on the object that holds it: "/data/email: is required" says more than "/data: missing email".
		switch k := ve.ErrorKind.(type) {
		case *kind.Required:
			for _, name := range k.Missing {
				e.add(at+"/"+escape(name), "is required but missing")
			}
		case *kind.AdditionalProperties:
			for _, name := range k.Properties {
				e.add(at+"/"+escape(name), "is not allowed: the schema does not define this property")
			}
		default:
			e.add(at, ve.ErrorKind.LocalizedString(printer))
		}
	}
	walk(ve)
}

func (e *ValidationError) add(path, msg string) {
	e.Violations = append(e.Violations, Violation{Path: path, Message: msg})
}

// reported tells whether a violation was already recorded at path or inside it.
func (e *ValidationError) reported(path string) bool {
	return slices.ContainsFunc(e.Violations, func(v Violation) bool {
		return v.Path == path || strings.HasPrefix(v.Path, path+"/")
	})
}

// orNil returns e with its violations sorted and deduplicated (data that is not an object fails both the
// envelope and the data schema), or nil when there are none, never a typed nil in an error.
func (e *ValidationError) orNil() error {
	if len(e.Violations) == 0 {
		return nil
	}
	slices.SortFunc(e.Violations, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Message, b.Message))
	})
	e.Violations = slices.Compact(e.Violations)
	return e
}

// pointer renders instance-location tokens as a JSON Pointer (RFC 6901).
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func escape(token string) string { return pointerEscaper.Replace(token) }
