package render

import (
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/store"
)

// TestLayOutReportSaysWhatTheDocumentSays checks that the laid-out report
// has every heading, paragraph, notice and cell of the Markdown report, in
// the same order, and that each table is captioned with the heading above
// it.
func TestLayOutReportSaysWhatTheDocumentSays(t *testing.T) {
	o := Options{Now: time.Date(2025, 6, 2, 9, 5, 0, 0, time.UTC)}
	tr := runningTrace()
	south := tr.Units[0]
	south.Code, south.Name = "SOUTH", "South campus"
	south.Findings = []store.TraceItem{south.Findings[0]}
	south.Findings[0].Unit, south.Findings[0].Ref = "SOUTH", "SOUTH/F1"
	tr.Units = append(tr.Units, south)
	l, err := LayOutReport(tr, o)
	if err != nil {
		t.Fatal(err)
	}
	md := renderReport(t, tr, FormatMarkdown, o)
	if l.Title != "Traceability report: Acme College (ACME), review cycle 2025" {
		t.Errorf("got title %q", l.Title)
	}
	at := 0
	find := func(s string) {
		t.Helper()
		i := strings.Index(md[at:], mdCell(cell{Text: s}))
		if i < 0 {
			t.Errorf("the layout has %q where the Markdown report, after byte %d, does not", s, at)
			return
		}
		at += i
	}
	heading, tables := "", 0
	captions := map[string]bool{}
	for _, b := range l.Blocks {
		switch {
		case b.Level > 0:
			find(b.Heading)
			heading = b.Heading
		case b.Notice != "":
			find(b.Notice)
		case b.Table != nil:
			tables++
			if !strings.HasSuffix(b.Table.Caption, heading) {
				t.Errorf("a table under %q is captioned %q", heading, b.Table.Caption)
			}
			if captions[b.Table.Caption] {
				t.Errorf("two tables are captioned %q", b.Table.Caption)
			}
			captions[b.Table.Caption] = true
			for _, row := range b.Table.Rows {
				for _, c := range row {
					if c.Text == "" {
						continue
					}
					if i := strings.Index(md[at:], mdCell(cell(c))); i >= 0 {
						at += i
					} else {
						t.Errorf("the layout has cell %q where the Markdown report, after byte %d, does not", c.Text, at)
					}
				}
			}
		default:
			find(b.Para)
		}
	}
	if tables == 0 || len(l.Blocks) < 10 {
		t.Errorf("the layout has %d blocks and %d tables; want the whole report", len(l.Blocks), tables)
	}
	if _, err := LayOutReport(runningTrace(), Options{}); err == nil {
		t.Error("a layout without the time of rendering was not refused")
	}
}
