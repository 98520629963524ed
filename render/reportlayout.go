package render

import (
	"errors"

	"github.com/oho-dev/oho/store"
)

// ReportLayout is the traceability report laid out for a front end that
// shows it inside a page of its own (the web pages, whose policy allows no
// inline style, so the self-contained HTML document cannot be embedded):
// the same title, headings, paragraphs, notices and tables, in the same
// order and words, as Report writes in Markdown and HTML.
type ReportLayout struct {
	Title  string
	Blocks []ReportBlock
}

// ReportBlock is one heading (Level > 0), notice, table or paragraph.
type ReportBlock struct {
	Level   int
	Heading string
	Para    string
	Notice  string
	Table   *ReportTable
}

// ReportTable is a table of the report. Caption is the heading it stands
// under, after the heading of its unit or round when it has one ("NORTH:
// North campus — Findings"), so that a table read on its own still says
// what it lists and no two tables of a report share a caption.
type ReportTable struct {
	Caption string
	Head    []string
	Rows    [][]ReportCell
}

// ReportCell is a table cell; Code cells (hashes, IDs) are set in monospace.
type ReportCell struct {
	Text string
	Code bool
}

// LayOutReport lays out the traceability report of a cycle, as Report
// would write it with the same options.
func LayOutReport(tr store.Trace, o Options) (ReportLayout, error) {
	if o.Now.IsZero() {
		return ReportLayout{}, errors.New("laying out the report: no time to say it was generated at")
	}
	d := traceDoc(tr, o)
	out := ReportLayout{Title: d.Title, Blocks: make([]ReportBlock, 0, len(d.Blocks))}
	caption, parent := d.Title, ""
	for _, b := range d.Blocks {
		rb := ReportBlock{Level: b.Level, Heading: b.Heading, Para: b.Para, Notice: b.Notice}
		switch {
		case b.Level == 3:
			caption, parent = b.Heading, b.Heading
		case b.Level > 3 && parent != "":
			caption = parent + " — " + b.Heading
		case b.Level > 0:
			caption, parent = b.Heading, ""
		}
		if t := b.Table; t != nil {
			rt := &ReportTable{Caption: caption, Head: t.Head, Rows: make([][]ReportCell, len(t.Rows))}
			for i, row := range t.Rows {
				cells := make([]ReportCell, len(row))
				for j, c := range row {
					cells[j] = ReportCell(c)
				}
				rt.Rows[i] = cells
			}
			rb.Table = rt
		}
		out.Blocks = append(out.Blocks, rb)
	}
	return out, nil
}
