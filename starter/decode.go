package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// maxFile is the largest input file the command line reads: an organisation
// of a few thousand people or the longest outcome fits many times over.
const maxFile = 8 << 20

// readFile reads an input file (an organisation, a cycle config, an
// outcome), saying which file could not be read and why.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return nil, fmt.Errorf("cannot read %s: it is a folder, not a file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%s is larger than %d MiB, which no OHO input needs to be", path, maxFile>>20)
	}
	return b, nil
}
