package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Decode reads one JSON value strictly into v: unknown fields are refused, so
// that a misspelt field is not silently ignored and nothing undocumented (such
// as a student's name) slips into the records. Errors name the JSON fields and
// start with what, the name of the input ("the outcome", a file's path).
func Decode(data []byte, what string, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s is empty", what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSON(what, err)
	}
	if dec.More() {
		return fmt.Errorf("%s has more than one JSON value", what)
	}
	return nil
}

func describeJSON(what string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Errorf("%s must be a JSON object, not %s", what, typeErr.Value)
		}
		return fmt.Errorf("%s: %s must be %s, not %s", what, typeErr.Field, kindName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("%s is not valid JSON (at byte %d): %s", what, syntaxErr.Offset, strings.TrimPrefix(err.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%s is not valid JSON: it ends too early", what)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fmt.Errorf("%s has an unknown field %s (only the documented fields are accepted)", what, field)
	}
	return fmt.Errorf("%s cannot be read: %s", what, strings.TrimPrefix(err.Error(), "json: "))
}

func kindName(kind string) string {
	switch kind {
	case "float32", "float64", "int", "int64", "int32", "uint", "uint64":
		return "a number"
	case "string":
		return "a string"
	case "slice", "array":
		return "a list"
	case "struct", "ptr", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return kind
}
