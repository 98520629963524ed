// Package render writes OHO's documents: the traceability report of a
// cycle, the plan handbook, the diff between two plan versions, the audit
// export of a cycle, everything held about one person (PersonExportJSON),
// and the audit log and a provider's indicator trends as CSV.
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

// Documents are written in English: their times and dates are written as
// English readers write them (When, Day), "1 Dec 2026 04:55 EET", rather
// than in ISO 8601. They are read by people — staff, auditors, the board —
// and a month's name leaves no doubt about which number is the day, while
// the zone's abbreviation, and the zone's name in the document (zoneName),
// say where the clock is. Machine-readable records (the audit export, the
// CSV files, JSON) keep RFC 3339 in UTC.

// when writes a time for people to read, in the options' zone.
func (o Options) when(t time.Time) string {
	return When(t, o.Location, English)
}

// zoneName is the IANA name of the options' zone, which documents state
// once so that a reader can tell Helsinki's EET from another zone's.
func (o Options) zoneName() string {
	if o.Location == nil {
		return time.UTC.String()
	}
	return o.Location.String()
}

// date writes a calendar date recorded as YYYY-MM-DD (an effective date, the
// day of a consultation) as English readers write it, "1 Aug 2027". A date
// has no zone. Anything that is not such a date is written as it is.
func date(s string) string {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return Day(d, time.UTC, English)
}
