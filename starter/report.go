package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/store"
)

// report writes the traceability report of a cycle (render.Report), as it
// stands now, with times in the provider's time zone.
func (a *app) report(ctx context.Context, args []string) error {
	fs := newFlags("report")
	var ref cycleRef
	format := fs.String("format", "md", "md or html")
	out := fs.String("out", "", "file to write the report to (default stdout)")
	as := readAs(fs)
	if err := ref.parse(fs, args); err != nil {
		return err
	}
	f, err := render.ParseFormat(*format)
	if err != nil {
		return usagef("report: --format must be md or html (got %q)", *format)
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	tr, err := svc.Report(ctx, actor, ref.provider, ref.year)
	if err != nil {
		return err
	}
	loc, err := svc.ProviderLocation(ctx, actor, ref.provider)
	if err != nil {
		return err
	}
	b, err := renderReport(tr, f, loc)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := a.stdout.Write(b)
		return err
	}
	if err := writeFileAtomic(*out, b); err != nil {
		return err
	}
	a.printf("wrote the report of %s %d to %s\n", ref.provider, ref.year, *out)
	return nil
}

// renderReport renders the report whole before anything is written, so that
// a failure leaves neither half a report on stdout nor half a file. Its
// times are in loc, the provider's time zone, as the handbook's are.
func renderReport(tr store.Trace, f render.Format, loc *time.Location) ([]byte, error) {
	var buf bytes.Buffer
	if err := render.Report(&buf, tr, f, render.Options{Now: time.Now(), Location: loc}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeDemoReports writes the demo cycle's report in both formats into the
// folder out/ of the current directory (the repository's root when run by
// make demo, where out/ is ignored by git) and says where.
func (d *demoRun) writeDemoReports(ctx context.Context, year int) error {
	tr, err := d.svc.Report(ctx, d.manager, d.provider, year)
	if err != nil {
		return err
	}
	loc, err := d.svc.ProviderLocation(ctx, d.manager, d.provider)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs("out")
	if err != nil {
		return fmt.Errorf("finding the folder for the reports: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s for the reports: %w", dir, err)
	}
	var paths []string
	for _, format := range []render.Format{render.FormatMarkdown, render.FormatHTML} {
		b, err := renderReport(tr, format, loc)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, fmt.Sprintf("report-%s-%d.%s", d.provider, year, format))
		if err := writeFileAtomic(path, b); err != nil {
			return err
		}
		paths = append(paths, path)
	}
	d.printf("  reports            %s\n                     %s\n", paths[0], paths[1])
	return nil
}

// writeFileAtomic writes the file through a temporary file in the same
// folder, renamed into place, so that a reader never sees half a report and
// a failed write leaves any earlier report as it was. Everyone may read it.
func writeFileAtomic(path string, data []byte) error {
	return writeFileMode(path, data, 0o644)
}

// checkOutPath refuses a path to write that names a folder, or a file in a
// folder that does not exist: what a command can say before it does the
// work whose result it writes.
func checkOutPath(path string) error {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("cannot write %s: it is a folder; name a file", path)
	}
	if dir := filepath.Dir(path); !isDir(dir) {
		return fmt.Errorf("cannot write %s: there is no folder %s", path, dir)
	}
	return nil
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// writeFileMode is writeFileAtomic with the file's permissions: 0o600 for
// a file of personal data, which only its writer should read.
func writeFileMode(path string, data []byte, mode os.FileMode) error {
	if err := checkOutPath(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // not the temporary file's name
		}
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing left to remove
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
