package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/oho-dev/oho/check"
)

// readJSONFile reads a JSON file strictly into v (see check.Decode). With v
// nil it only checks that the file holds one valid JSON value. It returns the
// file's bytes.
func readJSONFile(path string, v any) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if v == nil {
		var probe any
		v = &probe
	}
	if err := check.Decode(b, path, v); err != nil {
		return nil, err
	}
	return b, nil
}
