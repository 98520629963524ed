package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DecodeError is input that Decode cannot read: its Problem says what, as
// the sentence that is the error's text and as facts (TagJSON,
// TagUnknownField, TagType, or "required" for input that is empty). The
// problem's Field is the JSON field concerned, or "" for the whole input.
type DecodeError struct {
	Problem Problem
}

func (e *DecodeError) Error() string { return e.Problem.Text }

// Decode reads one JSON value strictly into v: unknown fields are refused, so
// that a misspelt field is not silently ignored and nothing undocumented (such
// as a student's name) slips into the records. Errors are *DecodeError, name
// the JSON fields and start with what, the name of the input ("the outcome",
// a file's path).
func Decode(data []byte, what string, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return decodeError(Problem{Tag: "required"}, "%s is empty", what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSON(what, err)
	}
	// Only white space may follow the value: not a second value, nor a
	// stray ']' or '}' (which dec.More does not see at the top level).
	if dec.More() {
		return decodeError(Problem{Tag: TagJSON}, "%s has more than one JSON value", what)
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return decodeError(Problem{Tag: TagJSON}, "%s has %q after its JSON value", what, string(rest[:min(len(rest), 20)]))
	}
	return nil
}

func decodeError(p Problem, format string, args ...any) error {
	p.Text = fmt.Sprintf(format, args...)
	return &DecodeError{Problem: p}
}

func describeJSON(what string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		p := Problem{Field: typeErr.Field, Tag: TagType, Param: kindName(typeErr.Type.Kind().String()), Value: jsonType(typeErr.Value)}
		if typeErr.Field == "" {
			return decodeError(p, "%s must be a JSON object, not %s", what, typeErr.Value)
		}
		return decodeError(p, "%s: %s must be %s, not %s", what, typeErr.Field, article(p.Param), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return decodeError(Problem{Tag: TagJSON, Param: strconv.FormatInt(syntaxErr.Offset, 10)}, "%s is not valid JSON (at byte %d): %s", what, syntaxErr.Offset, strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return decodeError(Problem{Tag: TagJSON}, "%s is not valid JSON: it ends too early", what)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return decodeError(Problem{Tag: TagUnknownField, Param: strings.Trim(field, `"`)},
			"%s has an unknown field %s (only the documented fields are accepted)", what, field)
	}
	return decodeError(Problem{Tag: TagJSON}, "%s cannot be read: %s", what, strings.TrimPrefix(err.Error(), "json: "))
}

// kindName is the JSON type of a Go kind: "number", "string", "list",
// "object", "boolean", or the kind itself.
func kindName(kind string) string {
	switch kind {
	case "float32", "float64", "int", "int64", "int32", "uint", "uint64":
		return "number"
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "struct", "ptr", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return kind
}

// jsonType is the JSON type of a value as encoding/json describes it
// ("number 1.5", "array", "bool") in kindName's words.
func jsonType(value string) string {
	first, _, _ := strings.Cut(value, " ")
	switch first {
	case "array":
		return "list"
	case "bool":
		return "boolean"
	}
	return first
}

// article says a JSON type as the English sentences do: "a number",
// "an object", "true or false".
func article(t string) string {
	switch t {
	case "number", "string", "list":
		return "a " + t
	case "object":
		return "an object"
	case "boolean":
		return "true or false"
	}
	return t
}
