// Package render writes OHO's documents: the traceability report of a
// cycle, the plan handbook, the diff between two plan versions, the audit
// export of a cycle, and the audit log and a provider's indicator trends as
// CSV.
//
// Every front end (the command line today, the web pages and the API next)
// shows the same document the same way because it renders it here, from
// data it has already read. A document is written to an io.Writer; the
// clock and the time zone are passed in (Options, or the time a document
// records), never read from time.Now or time.Local, so that a document does
// not depend on the machine that renders it and a test can pin both.
package render

import (
	"fmt"
	"time"
)

// Format is the markup a document is written in.
type Format string

// The formats of the report and the handbook: Markdown for reading as text
// or pasting into a wiki, HTML as one self-contained file to print or send.
const (
	FormatMarkdown Format = "md"
	FormatHTML     Format = "html"
)

// ParseFormat returns the format a person named, "md" or "html". Front ends
// word their own refusal, so the error only says what was wrong.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatMarkdown, FormatHTML:
		return f, nil
	}
	return "", fmt.Errorf("format %q is not md or html", s)
}

// Options are what a document needs from the world around it.
type Options struct {
	// Now is the time the document is rendered at; the report says "as the
	// records stood on" it.
	Now time.Time
	// Location is the zone in which times are shown, with its abbreviation.
	// Nil means UTC: a document rendered without a zone must come out the
	// same on every machine, which the machine's local zone would not.
	Location *time.Location
}

// when writes a time for people to read, in the options' zone.
func (o Options) when(t time.Time) string {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}
