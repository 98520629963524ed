package render

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	texttemplate "text/template"

	"github.com/oho-dev/oho/store"
)

// Handbook writes a version of the plan as the handbook staff read:
// Markdown or self-contained HTML, with the version, hash, effective date and
// signatures on its first page, then every section, then the units' annexes,
// each titled with its unit. An imported version has no signatures: its
// first page says who imported it and when, and that it is not yet reviewed
// in OHO. Times are shown in o.Location, which the first page names.
func Handbook(w io.Writer, doc store.PlanDocument, f Format, o Options) error {
	if err := executeHandbook(w, doc, f, o); err != nil {
		return fmt.Errorf("rendering version %d of the plan: %w", doc.Version, err)
	}
	return nil
}

// executeHandbook runs a copy of the format's template whose "when" shows
// times in the options' zone. The shared templates are only ever cloned,
// never run: html/template refuses to clone a template once it has run.
func executeHandbook(w io.Writer, doc store.PlanDocument, f Format, o Options) error {
	when := map[string]any{"when": o.when, "zone": o.zoneName}
	switch f {
	case FormatMarkdown:
		t, err := planMarkdown.Clone()
		if err != nil {
			return err
		}
		return t.Funcs(when).Execute(w, doc)
	case FormatHTML:
		t, err := planHTML.Clone()
		if err != nil {
			return err
		}
		return t.Funcs(when).Execute(w, doc)
	}
	return fmt.Errorf("format %q is not md or html", f)
}

// planFuncs are the handbook templates' functions. Its "when" is a
// stand-in for parsing: executeHandbook replaces it with the one of the
// options.
var planFuncs = map[string]any{
	"when": Options{}.when,
	"zone": Options{}.zoneName,
	"inc":  func(i int) int { return i + 1 },
	"anchor": func(key string) string {
		return "s-" + key
	},
	"annexAnchor": func(unit string) string {
		return "annex-" + unit
	},
	"importer": importer,
	"date":     date,
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

// importer names who imported a version: "Name (id)", the ID alone when the
// person is no longer known, or the operator.
func importer(doc store.PlanDocument) string {
	switch {
	case doc.ImportedBy == store.ActorOperator:
		return "the operator"
	case doc.ImportedByName != "":
		return doc.ImportedByName + " (" + doc.ImportedBy + ")"
	}
	return doc.ImportedBy
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
| Effective from | {{date .EffectiveFrom}} |
{{if .Imported}}| Imported | {{when .PublishedAt}} by {{mdcell (importer .)}} |
| Content SHA-256 | ` + "`{{.Hash}}`" + ` |
| Review | not yet reviewed in OHO |
{{else}}| Published | {{when .PublishedAt}} |
| Content SHA-256 | ` + "`{{.Hash}}`" + ` |
| Review cycle | {{.CycleID}}, round {{.Round}} |
{{end}}| Times are in | {{zone}} |

### Approvals
{{if .Imported}}
This version was imported by {{mdline (importer .)}} on {{when .PublishedAt}}, not yet reviewed in OHO: it has no signatures. The provider's next review cycle drafts its next version from it.
{{else}}
Every signature below is bound to the content SHA-256 above.

| Signed by | Role | Meaning | Signed at | Version hash |
| --- | --- | --- | --- | --- |
{{range .Signatures}}| {{mdcell .SignerName}} ({{.Signer}}) | {{.Role}} | {{mdcell .Meaning}} | {{when .SignedAt}} | ` + "`{{.Hash}}`" + ` |
{{end}}{{end}}{{if .Checklist}}
### Legal content

Where this version covers the content the plan must have (by default, section 13 of the Student Welfare Act 1287/2013), as its approved draft says.

| Item | Content required | Sisältö | Covered in |
| --- | --- | --- | --- |
{{range .Checklist}}| ` + "`{{.ID}}`" + ` | {{mdcell .EN}} | {{mdcell .FI}} | {{if .Section}}{{mdcell .Section}}{{with .Note}}: {{mdcell .}}{{end}}{{else}}NOT COVERED: {{mdcell .Reason}}{{end}} |
{{end}}{{end}}
### Contents

{{range $i, $s := .Content.Sections}}{{inc $i}}. {{mdline $s.Title}}
{{end}}{{if .Content.Annexes}}
Unit annexes:
{{range .Content.Annexes}}
- Annex {{.Unit}}: {{mdline .Title}}{{end}}
{{end}}
{{range $i, $s := .Content.Sections}}
## {{inc $i}}. {{mdline $s.Title}}

{{if $s.Text}}{{mdtext $s.Text}}{{else}}*(This section has no text yet.)*{{end}}
{{end}}{{if .Content.Annexes}}
## Unit annexes

Each unit's own arrangements, beside the common part above. A unit head's sign-off covers the common part and their own unit's annex.
{{range .Content.Annexes}}
### Annex {{.Unit}}: {{mdline .Title}}

{{mdtext .Text}}
{{end}}{{end}}`))

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
<tr><th>Effective from</th><td>{{date .EffectiveFrom}}</td></tr>
{{if .Imported}}<tr><th>Imported</th><td>{{when .PublishedAt}} by {{importer .}}</td></tr>
<tr><th>Content SHA-256</th><td><code>{{.Hash}}</code></td></tr>
<tr><th>Review</th><td>not yet reviewed in OHO</td></tr>
{{else}}<tr><th>Published</th><td>{{when .PublishedAt}}</td></tr>
<tr><th>Content SHA-256</th><td><code>{{.Hash}}</code></td></tr>
<tr><th>Review cycle</th><td>{{.CycleID}}, round {{.Round}}</td></tr>
{{end}}<tr><th>Times are in</th><td>{{zone}}</td></tr>
</table>
<h2>Approvals</h2>
{{if .Imported}}<p>This version was imported by {{importer .}} on {{when .PublishedAt}}, not yet reviewed in OHO: it has no signatures. The provider's next review cycle drafts its next version from it.</p>
{{else}}<p>Every signature below is bound to the content SHA-256 above.</p>
<table>
<tr><th>Signed by</th><th>Role</th><th>Meaning</th><th>Signed at</th><th>Version hash</th></tr>
{{range .Signatures}}<tr><td>{{.SignerName}} ({{.Signer}})</td><td>{{.Role}}</td><td>{{.Meaning}}</td><td>{{when .SignedAt}}</td><td><code>{{.Hash}}</code></td></tr>
{{end}}</table>
{{end}}{{if .Checklist}}<h2>Legal content</h2>
<p>Where this version covers the content the plan must have (by default, section 13 of the Student Welfare Act 1287/2013), as its approved draft says.</p>
<table>
<tr><th>Item</th><th>Content required</th><th lang="fi">Sisältö</th><th>Covered in</th></tr>
{{range .Checklist}}<tr><td><code>{{.ID}}</code></td><td>{{.EN}}</td><td lang="fi">{{.FI}}</td><td>{{if .Section}}{{.Section}}{{with .Note}}: {{.}}{{end}}{{else}}NOT COVERED: {{.Reason}}{{end}}</td></tr>
{{end}}</table>
{{end}}<h2>Contents</h2>
<ol>
{{range .Content.Sections}}<li><a href="#{{anchor .Key}}">{{.Title}}</a></li>
{{end}}{{if .Content.Annexes}}<li><a href="#annexes">Unit annexes</a>
<ul>
{{range .Content.Annexes}}<li><a href="#{{annexAnchor .Unit}}">Annex {{.Unit}}: {{.Title}}</a></li>
{{end}}</ul></li>
{{end}}</ol>
</section>
{{range $i, $s := .Content.Sections}}<section id="{{anchor $s.Key}}">
<h2>{{inc $i}}. {{$s.Title}}</h2>
{{range paragraphs $s.Text}}<p>{{.}}</p>
{{else}}<p><em>(This section has no text yet.)</em></p>
{{end}}</section>
{{end}}{{if .Content.Annexes}}<section id="annexes">
<h2>Unit annexes</h2>
<p>Each unit's own arrangements, beside the common part above. A unit head's sign-off covers the common part and their own unit's annex.</p>
{{range .Content.Annexes}}<section id="{{annexAnchor .Unit}}">
<h3>Annex {{.Unit}}: {{.Title}}</h3>
{{range paragraphs .Text}}<p>{{.}}</p>
{{end}}</section>
{{end}}</section>
{{end}}</body>
</html>
`))
