package render

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/oho-dev/oho/store"
)

// PersonExportFormatVersion is the version of the person export's layout.
// Change it with any change that is not an addition, and never change what
// a version's fields mean.
const PersonExportFormatVersion = 1

// PersonExport is everything OHO holds about one person (their right of
// access, GDPR article 15), gathered by the caller: what the database holds
// (store.PersonData, whose fields are the document's), and where else data
// about them lives that the export does not copy (Elsewhere).
type PersonExport struct {
	// Type is "person_export".
	Type          string `json:"type"`
	FormatVersion int    `json:"format_version"`
	// ExportedAt is when the data was gathered, written in UTC; ExportedBy
	// who gathered it: the person, one of their provider's auditors or
	// managers, or "operator".
	ExportedAt time.Time `json:"exported_at"`
	ExportedBy string    `json:"exported_by"`
	store.PersonData
	Elsewhere []Elsewhere `json:"elsewhere"`
}

// Elsewhere is a place outside OHO's database that holds data about the
// person, which the export names but does not copy: Temporal's workflow
// histories (with the workflows), the mail sent, the programs' logs,
// exported files and backups.
type Elsewhere struct {
	Where     string   `json:"where"`
	What      string   `json:"what"`
	Workflows []string `json:"workflows,omitempty"`
}

// PersonExportJSON writes the export as one indented JSON document. HTML's
// characters are written as they are: the document is data, not a page.
func PersonExportJSON(w io.Writer, e PersonExport) error {
	e.Type, e.FormatVersion, e.ExportedAt = "person_export", PersonExportFormatVersion, e.ExportedAt.UTC()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		return fmt.Errorf("writing the export of person %s: %w", e.Person.ID, err)
	}
	return nil
}
