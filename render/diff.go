package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// SectionChange says how a section differs between two versions of a plan.
type SectionChange string

// The ways a section can differ. A section whose text changed may have been
// renamed as well; SectionDiff.OldTitle says so.
const (
	SectionAdded     SectionChange = "added"
	SectionRemoved   SectionChange = "removed"
	SectionChanged   SectionChange = "changed"
	SectionRenamed   SectionChange = "renamed"
	SectionUnchanged SectionChange = "unchanged"
)

// SectionDiff is how a section differs between two versions. Its JSON is
// the "sections" of plan diff --json, a stable contract: keep the names.
type SectionDiff struct {
	Key    string        `json:"key"`
	Change SectionChange `json:"change"`
	// OldTitle is set when the title changed, or the section was removed.
	OldTitle string `json:"old_title,omitempty"`
	// NewTitle is the title in the newer version, unless it was removed.
	NewTitle string     `json:"new_title,omitempty"`
	Lines    []DiffLine `json:"lines,omitempty"`
}

// DiffLine is a line of a text diff.
type DiffLine struct {
	// Op is " " for a line both texts have, "-" for one only the older has
	// and "+" for one only the newer has, as in a unified diff.
	Op   string `json:"op"`
	Text string `json:"text"`
}

// lineDiff is the shortest line diff from a to b (longest common
// subsequence), kept lines included.
func lineDiff(a, b string) []DiffLine {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	x, y := split(a), split(b)
	// lcs[i][j] is the length of the LCS of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []DiffLine
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, DiffLine{" ", x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, DiffLine{"-", x[i]})
			i++
		default:
			out = append(out, DiffLine{"+", y[j]})
			j++
		}
	}
	return out
}

// DiffPlans compares two versions section by section, in the order of the
// newer version, then the sections it no longer has. Sections are matched
// by key, so a renamed section is one section, not one removed and one
// added. Units' annexes are compared as sections after the common ones,
// keyed "annex/NORTH" and titled with their titles.
func DiffPlans(from, to review.PlanContent) []SectionDiff {
	old := map[string]review.SectionText{}
	for _, s := range from.Parts() {
		old[s.Key] = s
	}
	var out []SectionDiff
	seen := map[string]bool{}
	for _, s := range to.Parts() {
		seen[s.Key] = true
		o, ok := old[s.Key]
		d := SectionDiff{Key: s.Key, NewTitle: s.Title}
		switch {
		case !ok:
			d.Change, d.Lines = SectionAdded, lineDiff("", s.Text)
		case o.Text != s.Text:
			d.Change, d.OldTitle, d.Lines = SectionChanged, o.Title, lineDiff(o.Text, s.Text)
		case o.Title != s.Title:
			d.Change, d.OldTitle = SectionRenamed, o.Title
		default:
			d.Change = SectionUnchanged
		}
		if d.Change == SectionChanged && o.Title == s.Title {
			d.OldTitle = ""
		}
		out = append(out, d)
	}
	for _, s := range from.Parts() {
		if !seen[s.Key] {
			out = append(out, SectionDiff{Key: s.Key, Change: SectionRemoved, OldTitle: s.Title, Lines: lineDiff(s.Text, "")})
		}
	}
	return out
}

// PlanDiff is what a person is shown when comparing two versions of a
// provider's plan.
type PlanDiff struct {
	Provider string
	From, To store.PlanVersion
	// Sections are DiffPlans of the two versions' content.
	Sections []SectionDiff
	// Changes are the changes that made the versions after the older one,
	// up to the newer; they are shown only when From is the older.
	Changes []store.PlanChange
}

// MarshalJSON writes the diff as `plan diff --json` and the API give it:
// the two versions by number, hash, effective date and source ("cycle" or
// "import"; not their whole text, which the sections show), the sections
// and the changes.
func (d PlanDiff) MarshalJSON() ([]byte, error) {
	ref := func(v store.PlanVersion) map[string]any {
		return map[string]any{"version": v.Version, "hash": v.Hash, "effective_from": v.EffectiveFrom, "source": v.Source}
	}
	return json.Marshal(map[string]any{"provider": d.Provider, "from": ref(d.From), "to": ref(d.To), "sections": d.Sections, "changes": d.Changes})
}

// DiffText writes the diff as text for a terminal: each section with its
// line diff, then the changes made between the two versions with their
// rationale, which say why the text moved.
func DiffText(w io.Writer, d PlanDiff) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan of %s: version %d (%s…) → version %d (%s…)\n",
		d.Provider, d.From.Version, shortHash(d.From.Hash), d.To.Version, shortHash(d.To.Hash))
	versions := []store.PlanVersion{d.From}
	if d.To.Version != d.From.Version {
		versions = append(versions, d.To)
	}
	for _, v := range versions {
		if v.Imported() {
			fmt.Fprintf(&b, "version %d was imported by %s, not made by a review cycle\n", v.Version, v.ImportedBy)
		}
	}
	same := true
	for _, s := range d.Sections {
		switch s.Change {
		case SectionUnchanged:
			fmt.Fprintf(&b, "\n  %s: unchanged\n", s.Key)
			continue
		case SectionRenamed:
			fmt.Fprintf(&b, "\n  %s: renamed %q → %q\n", s.Key, s.OldTitle, s.NewTitle)
		case SectionChanged:
			if s.OldTitle != "" {
				fmt.Fprintf(&b, "\n  %s: changed, and renamed %q → %q\n", s.Key, s.OldTitle, s.NewTitle)
			} else {
				fmt.Fprintf(&b, "\n  %s (%s): changed\n", s.Key, s.NewTitle)
			}
		case SectionAdded:
			fmt.Fprintf(&b, "\n  %s (%s): added\n", s.Key, s.NewTitle)
		case SectionRemoved:
			fmt.Fprintf(&b, "\n  %s (%s): removed\n", s.Key, s.OldTitle)
		}
		same = false
		for _, l := range s.Lines {
			fmt.Fprintf(&b, "    %s %s\n", l.Op, l.Text)
		}
	}
	if same {
		b.WriteString("\nthe two versions have the same sections and text\n")
	}
	if len(d.Changes) > 0 && d.From.Version < d.To.Version {
		b.WriteString("\nchanges made between them:\n")
		for _, c := range d.Changes {
			fmt.Fprintf(&b, "  version %d, %s (%s): %s\n", c.Version, c.ChangeID, c.Section, c.Rationale)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the plan diff: %w", err)
	}
	return nil
}

// shortHash is the first twelve characters of a hash, enough to tell two
// versions apart by eye.
func shortHash(h string) string {
	return h[:min(len(h), 12)]
}
