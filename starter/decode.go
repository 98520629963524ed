package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// readJSONFile reads a JSON file strictly into v: unknown fields are refused
// so that a misspelt field is not silently ignored. With v nil it only checks
// that the file holds valid JSON, and returns its bytes either way.
func readJSONFile(path string, v any) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if !json.Valid(b) {
		var probe any
		return nil, fmt.Errorf("%s is not valid JSON: %v", path, describeDecodeError(json.Unmarshal(b, &probe)))
	}
	if v == nil {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, describeDecodeError(err))
	}
	return b, nil
}

// describeDecodeError turns encoding/json's messages, which name Go types,
// into ones that name the JSON fields.
func describeDecodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Errorf("expected a JSON object, found %s", typeErr.Value)
		}
		return fmt.Errorf("field %s has the wrong type (%s, want %s)", typeErr.Field, typeErr.Value, typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case strings.HasPrefix(err.Error(), "json: "):
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return err
}
