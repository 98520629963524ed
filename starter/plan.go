package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/store"
)

// planArgs parses --provider, an optional --version and the flags setup
// adds.
func planArgs(name string, args []string, setup func(fs *flag.FlagSet)) (provider string, version int, err error) {
	fs := newFlags(name)
	fs.StringVar(&provider, "provider", "", "provider code")
	fs.IntVar(&version, "version", 0, "plan version (default: the latest)")
	setup(fs)
	if _, err := parse(fs, args); err != nil {
		return "", 0, err
	}
	if err := required(fs, "provider"); err != nil {
		return "", 0, err
	}
	if !check.Code(provider) {
		return "", 0, fmt.Errorf("--provider %q is not a provider code", provider)
	}
	if version < 0 {
		return "", 0, fmt.Errorf("--version %d is not a version number", version)
	}
	return provider, version, nil
}

// planShow prints a version of the plan: its record, then its sections.
func (a *app) planShow(ctx context.Context, args []string) error {
	var asJSON bool
	provider, version, err := planArgs("plan show", args, func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") })
	if err != nil {
		return err
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	doc, err := st.PlanDocument(ctx, provider, version)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(doc)
	}
	a.printf("%s — student welfare plan, version %d\n", doc.ProviderName, doc.Version)
	a.printf("effective from   %s\npublished        %s\ncontent SHA-256  %s\ncycle            %s (round %d)\napproved by      %s\n",
		doc.EffectiveFrom, doc.PublishedAt.Local().Format("2006-01-02 15:04"), doc.Hash, doc.CycleID, doc.Round, doc.ApprovedBy)
	for i, s := range doc.Content.Sections {
		a.printf("\n%d. %s\n%s\n", i+1, s.Title, orDash(s.Text))
	}
	return nil
}

// sectionDiff is how a section differs between two versions.
type sectionDiff struct {
	Key      string     `json:"key"`
	Change   string     `json:"change"` // added, removed, changed, renamed, unchanged
	OldTitle string     `json:"old_title,omitempty"`
	NewTitle string     `json:"new_title,omitempty"`
	Lines    []diffLine `json:"lines,omitempty"`
}

// diffLine is a line of a text diff: Op is ' ' (kept), '-' or '+'.
type diffLine struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// lineDiff is the shortest line diff from a to b (longest common
// subsequence), kept lines included.
func lineDiff(a, b string) []diffLine {
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
	var out []diffLine
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, diffLine{" ", x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, diffLine{"-", x[i]})
			i++
		default:
			out = append(out, diffLine{"+", y[j]})
			j++
		}
	}
	return out
}

// diffPlans compares two versions section by section, in the order of the
// newer version, then the sections it no longer has.
func diffPlans(from, to review.PlanContent) []sectionDiff {
	old := map[string]review.SectionText{}
	for _, s := range from.Sections {
		old[s.Key] = s
	}
	var out []sectionDiff
	seen := map[string]bool{}
	for _, s := range to.Sections {
		seen[s.Key] = true
		o, ok := old[s.Key]
		d := sectionDiff{Key: s.Key, NewTitle: s.Title}
		switch {
		case !ok:
			d.Change, d.Lines = "added", lineDiff("", s.Text)
		case o.Text != s.Text:
			d.Change, d.OldTitle, d.Lines = "changed", o.Title, lineDiff(o.Text, s.Text)
		case o.Title != s.Title:
			d.Change, d.OldTitle = "renamed", o.Title
		default:
			d.Change = "unchanged"
		}
		if d.Change == "changed" && o.Title == s.Title {
			d.OldTitle = ""
		}
		out = append(out, d)
	}
	for _, s := range from.Sections {
		if !seen[s.Key] {
			out = append(out, sectionDiff{Key: s.Key, Change: "removed", OldTitle: s.Title, Lines: lineDiff(s.Text, "")})
		}
	}
	return out
}

// planDiff prints a section-by-section diff of two versions and the changes
// that made the newer one.
func (a *app) planDiff(ctx context.Context, args []string) error {
	var asJSON bool
	var from, to int
	provider, _, err := planArgs("plan diff", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.IntVar(&from, "from", 0, "older version")
		fs.IntVar(&to, "to", 0, "newer version")
	})
	if err != nil {
		return err
	}
	if from < 1 || to < 1 {
		return usagef("plan diff needs --from VERSION and --to VERSION (numbers from 1)")
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	d1, err := st.PlanDocument(ctx, provider, from)
	if err != nil {
		return err
	}
	d2, err := st.PlanDocument(ctx, provider, to)
	if err != nil {
		return err
	}
	a1, a2 := d1.PlanVersion, d2.PlanVersion
	diff := diffPlans(a1.Content, a2.Content)
	lo, hi := min(from, to), max(from, to)
	changes, err := st.PlanChanges(ctx, provider, lo, hi)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(map[string]any{"provider": provider, "from": versionRef(a1), "to": versionRef(a2), "sections": diff, "changes": changes})
	}
	a.printf("plan of %s: version %d (%s…) → version %d (%s…)\n", provider, from, a1.Hash[:12], to, a2.Hash[:12])
	same := true
	for _, d := range diff {
		switch d.Change {
		case "unchanged":
			a.printf("\n  %s: unchanged\n", d.Key)
			continue
		case "renamed":
			a.printf("\n  %s: renamed %q → %q\n", d.Key, d.OldTitle, d.NewTitle)
		case "changed":
			if d.OldTitle != "" {
				a.printf("\n  %s: changed, and renamed %q → %q\n", d.Key, d.OldTitle, d.NewTitle)
			} else {
				a.printf("\n  %s (%s): changed\n", d.Key, d.NewTitle)
			}
		case "added":
			a.printf("\n  %s (%s): added\n", d.Key, d.NewTitle)
		case "removed":
			a.printf("\n  %s (%s): removed\n", d.Key, d.OldTitle)
		}
		same = false
		for _, l := range d.Lines {
			a.printf("    %s %s\n", l.Op, l.Text)
		}
	}
	if same {
		a.printf("\nthe two versions have the same sections and text\n")
	}
	if len(changes) > 0 && from < to {
		a.printf("\nchanges made between them:\n")
		for _, c := range changes {
			a.printf("  version %d, %s (%s): %s\n", c.Version, c.ChangeID, c.Section, c.Rationale)
		}
	}
	return nil
}

func versionRef(v store.PlanVersion) map[string]any {
	return map[string]any{"version": v.Version, "hash": v.Hash, "effective_from": v.EffectiveFrom}
}

// planExport writes a version of the plan as the handbook staff read:
// Markdown or self-contained HTML, with the version, hash, effective date and
// signatures on its first page.
func (a *app) planExport(ctx context.Context, args []string) error {
	var format, out string
	provider, version, err := planArgs("plan export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "format", "", "md or html")
		fs.StringVar(&out, "out", "", "file to write")
	})
	if err != nil {
		return err
	}
	if format != "md" && format != "html" {
		return usagef("plan export needs --format md or --format html (got %q)", format)
	}
	if out == "" {
		return usagef("plan export needs --out FILE")
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	doc, err := st.PlanDocument(ctx, provider, version)
	if err != nil {
		return err
	}
	b, err := renderPlan(doc, format)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(out, b); err != nil {
		return err
	}
	a.printf("wrote %s: version %d of the plan of %s\n", out, doc.Version, provider)
	return nil
}

// renderPlan renders the handbook in the format, "md" or "html".
func renderPlan(doc store.PlanDocument, format string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if format == "html" {
		err = planHTML.Execute(&buf, doc)
	} else {
		err = planMarkdown.Execute(&buf, doc)
	}
	if err != nil {
		return nil, fmt.Errorf("rendering version %d of the plan: %w", doc.Version, err)
	}
	return buf.Bytes(), nil
}

var planFuncs = map[string]any{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"inc":  func(i int) int { return i + 1 },
	"anchor": func(key string) string {
		return "s-" + key
	},
	"paragraphs": func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, "\n\n") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	},
	"mdcell": func(s string) string { return strings.ReplaceAll(mdPlanLine(s), "|", `\|`) },
	"mdtext": mdPlanText,
	"mdline": mdPlanLine,
	"unit": func(u string) string {
		if u == "" {
			return "the provider"
		}
		return "unit " + u
	},
}

// mdPlanText keeps a plan text from being read as HTML or as headings where
// Markdown is rendered: it backslash-escapes the backslash, <, > and &, and a
// # that opens a line. The rest (lists, emphasis) stays the writer's
// Markdown.
func mdPlanText(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `<`, `\<`, `>`, `\>`, `&`, `\&`).Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if t := strings.TrimLeft(l, " "); strings.HasPrefix(t, "#") {
			lines[i] = l[:len(l)-len(t)] + `\` + t
		}
	}
	return strings.Join(lines, "\n")
}

// mdPlanLine is mdPlanText on one line.
func mdPlanLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(mdPlanText(s))
}

// planMarkdown is the handbook in Markdown (text/template: titles and texts
// go through mdline and mdtext, table cells through mdcell).
var planMarkdown = texttemplate.Must(texttemplate.New("plan.md").Funcs(planFuncs).Parse(`# {{mdline .ProviderName}} — Student welfare plan
## Opiskeluhuoltosuunnitelma

| | |
| --- | --- |
| Version | {{.Version}} |
| Effective from | {{.EffectiveFrom}} |
| Published | {{when .PublishedAt}} |
| Content SHA-256 | ` + "`{{.Hash}}`" + ` |
| Review cycle | {{.CycleID}}, round {{.Round}} |

### Approvals

Every signature below is bound to the content SHA-256 above.

| Signed by | Role | Meaning | Signed at | Version hash |
| --- | --- | --- | --- | --- |
{{range .Signatures}}| {{mdcell .SignerName}} ({{.Signer}}) | {{.Role}} | {{mdcell .Meaning}} | {{when .SignedAt}} | ` + "`{{.Hash}}`" + ` |
{{end}}
### Contents

{{range $i, $s := .Content.Sections}}{{inc $i}}. {{mdline $s.Title}}
{{end}}
{{range $i, $s := .Content.Sections}}
## {{inc $i}}. {{mdline $s.Title}}

{{if $s.Text}}{{mdtext $s.Text}}{{else}}*(This section has no text yet.)*{{end}}
{{end}}`))

var planHTML = template.Must(template.New("plan.html").Funcs(planFuncs).Parse(`<!DOCTYPE html>
<html lang="fi">
<head>
<meta charset="utf-8">
<title>{{.ProviderName}} — Student welfare plan, version {{.Version}}</title>
<style>
body { font-family: Georgia, "Times New Roman", serif; max-width: 46em; margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #111; }
h1 { font-size: 1.8em; margin-bottom: 0; } h1 + p { margin-top: 0.2em; color: #555; font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } code { font-size: 0.85em; word-break: break-all; }
.front { page-break-after: always; } section > p { white-space: pre-line; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
</style>
</head>
<body>
<section class="front">
<h1>{{.ProviderName}} — Student welfare plan</h1>
<p>Opiskeluhuoltosuunnitelma</p>
<table>
<tr><th>Version</th><td>{{.Version}}</td></tr>
<tr><th>Effective from</th><td>{{.EffectiveFrom}}</td></tr>
<tr><th>Published</th><td>{{when .PublishedAt}}</td></tr>
<tr><th>Content SHA-256</th><td><code>{{.Hash}}</code></td></tr>
<tr><th>Review cycle</th><td>{{.CycleID}}, round {{.Round}}</td></tr>
</table>
<h2>Approvals</h2>
<p>Every signature below is bound to the content SHA-256 above.</p>
<table>
<tr><th>Signed by</th><th>Role</th><th>Meaning</th><th>Signed at</th><th>Version hash</th></tr>
{{range .Signatures}}<tr><td>{{.SignerName}} ({{.Signer}})</td><td>{{.Role}}</td><td>{{.Meaning}}</td><td>{{when .SignedAt}}</td><td><code>{{.Hash}}</code></td></tr>
{{end}}</table>
<h2>Contents</h2>
<ol>
{{range .Content.Sections}}<li><a href="#{{anchor .Key}}">{{.Title}}</a></li>
{{end}}</ol>
</section>
{{range $i, $s := .Content.Sections}}<section id="{{anchor $s.Key}}">
<h2>{{inc $i}}. {{$s.Title}}</h2>
{{range paragraphs $s.Text}}<p>{{.}}</p>
{{else}}<p><em>(This section has no text yet.)</em></p>
{{end}}</section>
{{end}}</body>
</html>
`))
