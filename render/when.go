package render

import (
	"fmt"
	"sync"
	"time"
)

// Lang is a language people read OHO in: Finnish, the default, or English.
type Lang string

// The languages of OHO's pages, notices and documents.
const (
	Finnish Lang = "fi"
	English Lang = "en"
)

// ParseLang reads a language tag's base ("fi", "en-GB"); anything else is
// Finnish, the default.
func ParseLang(s string) Lang {
	if len(s) >= 2 && (s[:2] == "en" || s[:2] == "EN") {
		return English
	}
	return Finnish
}

// When writes a moment as readers of the language write it, in the zone
// given (UTC when nil), followed by the zone's abbreviation so that a reader
// elsewhere knows which zone it is: "1.12.2026 klo 4.55 EET" in Finnish,
// "1 Dec 2026 04:55 EET" in English.
func When(t time.Time, loc *time.Location, lang Lang) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	zone, _ := t.Zone()
	if lang == English {
		return t.Format("2 Jan 2006 15:04 ") + zone
	}
	return fmt.Sprintf("%d.%d.%d klo %d.%02d %s", t.Day(), int(t.Month()), t.Year(), t.Hour(), t.Minute(), zone)
}

// Day writes the date of a moment in the zone given (UTC when nil):
// "1.12.2026" in Finnish, "1 Dec 2026" in English.
func Day(t time.Time, loc *time.Location, lang Lang) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if lang == English {
		return t.Format("2 Jan 2006")
	}
	return fmt.Sprintf("%d.%d.%d", t.Day(), int(t.Month()), t.Year())
}

// zones holds the zones Zone has loaded, by name: a zone's rules do not
// change while a program runs, and loading one reads a file.
var zones sync.Map

// Zone loads a time zone by its IANA name, such as a provider's time zone
// (Europe/Helsinki). Names are checked when an organisation file is read,
// against the zone database every OHO program embeds (package check), so an
// error means a name that never went through that check. The machine's own
// zone ("Local") and the empty name are refused: what is shown must not
// depend on the machine that shows it.
func Zone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("time zone %q cannot be used: name a zone such as Europe/Helsinki", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q cannot be used: %w", name, err)
	}
	zones.Store(name, loc)
	return loc, nil
}
