package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"time"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// planArgs parses --provider, an optional --version, the optional --as of a
// read and the flags setup adds.
func planArgs(name string, args []string, setup func(fs *flag.FlagSet)) (provider string, version int, as string, err error) {
	fs := newFlags(name)
	fs.StringVar(&provider, "provider", "", "provider code")
	fs.IntVar(&version, "version", 0, "plan version (default: the latest)")
	fs.StringVar(&as, "as", "", "read as this person (default: the operator)")
	setup(fs)
	if _, err := parse(fs, args); err != nil {
		return "", 0, "", err
	}
	if err := required(fs, "provider"); err != nil {
		return "", 0, "", err
	}
	return provider, version, as, nil
}

// planShow prints a version of the plan: its record, then its sections.
func (a *app) planShow(ctx context.Context, args []string) error {
	var asJSON bool
	provider, version, as, err := planArgs("plan show", args, func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") })
	if err != nil {
		return err
	}
	actor, svc, err := a.readerService(ctx, as)
	if err != nil {
		return err
	}
	doc, err := svc.Plan(ctx, actor, provider, version)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(doc)
	}
	a.printf("%s — student welfare plan, version %d\n", doc.ProviderName, doc.Version)
	if doc.Imported() {
		a.printf("effective from   %s\nimported         %s by %s, not yet reviewed in OHO\ncontent SHA-256  %s\n",
			doc.EffectiveFrom, doc.PublishedAt.Local().Format("2006-01-02 15:04"), doc.ImportedBy, doc.Hash)
	} else {
		a.printf("effective from   %s\npublished        %s\ncontent SHA-256  %s\ncycle            %s (round %d)\napproved by      %s\n",
			doc.EffectiveFrom, doc.PublishedAt.Local().Format("2006-01-02 15:04"), doc.Hash, doc.CycleID, doc.Round, doc.ApprovedBy)
	}
	for i, s := range doc.Content.Sections {
		a.printf("\n%d. %s\n%s\n", i+1, s.Title, orDash(s.Text))
	}
	for _, an := range doc.Content.Annexes {
		a.printf("\nAnnex %s: %s\n%s\n", an.Unit, an.Title, an.Text)
	}
	return nil
}

// planImport records a provider's current plan, written in Markdown, as its
// next published version.
func (a *app) planImport(ctx context.Context, args []string) error {
	fs := newFlags("plan import")
	provider := fs.String("provider", "", "provider code")
	addSections := fs.Bool("add-sections", false, "add a section for each heading that names no known one")
	effective := fs.String("effective", "", "date the plan is in force from, YYYY-MM-DD (default: today)")
	as := fs.String("as", "", "import as this manager of the provider (default: the operator)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, "FILE.md")
	if err != nil {
		return err
	}
	if err := required(fs, "provider"); err != nil {
		return err
	}
	raw, err := readFile(pos[0])
	if err != nil {
		return err
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	res, err := svc.ImportPlan(ctx, actor, service.ImportPlan{
		Provider: *provider, Markdown: string(raw), Name: pos[0], AddSections: *addSections, EffectiveFrom: *effective,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(res)
	}
	if res.Unchanged {
		a.printf("version %d of the plan of %s already has this text (effective from %s, hash %s): nothing imported\n",
			res.Version, res.Provider, res.EffectiveFrom, res.Hash)
		return nil
	}
	a.printf("imported the plan of %s as version %d, effective from %s\ncontent SHA-256  %s\nsections         %s\n",
		res.Provider, res.Version, res.EffectiveFrom, res.Hash, strings.Join(res.Sections, ", "))
	if len(res.Annexes) > 0 {
		a.printf("unit annexes     %s\n", strings.Join(res.Annexes, ", "))
	}
	if len(res.Added) > 0 {
		a.printf("added sections   %s\n", strings.Join(res.Added, ", "))
	}
	if len(res.Empty) > 0 {
		a.printf("empty sections   %s (no text in the file)\n", strings.Join(res.Empty, ", "))
	}
	return nil
}

// planDiff prints a section-by-section diff of two versions and the changes
// that made the newer one.
func (a *app) planDiff(ctx context.Context, args []string) error {
	var asJSON bool
	var from, to int
	provider, _, as, err := planArgs("plan diff", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		fs.IntVar(&from, "from", 0, "older version")
		fs.IntVar(&to, "to", 0, "newer version")
	})
	if err != nil {
		return err
	}
	if from == 0 || to == 0 {
		return usagef("plan diff needs --from VERSION and --to VERSION (numbers from 1)")
	}
	actor, svc, err := a.readerService(ctx, as)
	if err != nil {
		return err
	}
	diff, err := svc.ComparePlans(ctx, actor, provider, from, to)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(diff)
	}
	return render.DiffText(a.stdout, diff)
}

// planExport writes a version of the plan as the handbook staff read:
// Markdown or self-contained HTML, with the version, hash, effective date and
// signatures on its first page.
func (a *app) planExport(ctx context.Context, args []string) error {
	var format, out string
	provider, version, as, err := planArgs("plan export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "format", "", "md or html")
		fs.StringVar(&out, "out", "", "file to write")
	})
	if err != nil {
		return err
	}
	f, err := render.ParseFormat(format)
	if err != nil {
		return usagef("plan export needs --format md or --format html (got %q)", format)
	}
	if out == "" {
		return usagef("plan export needs --out FILE")
	}
	actor, svc, err := a.readerService(ctx, as)
	if err != nil {
		return err
	}
	doc, err := svc.Plan(ctx, actor, provider, version)
	if err != nil {
		return err
	}
	loc, err := svc.ProviderLocation(ctx, actor, provider)
	if err != nil {
		return err
	}
	b, err := renderHandbook(doc, f, loc)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(out, b); err != nil {
		return err
	}
	a.printf("wrote %s: version %d of the plan of %s\n", out, doc.Version, provider)
	return nil
}

// renderHandbook renders the handbook whole before the file is written.
// Its times are in loc, the provider's time zone, as the report's are, so
// that a signature reads the same in both. (Handbooks exported before
// providers had a zone gave their times in UTC; the moments are the same.)
func renderHandbook(doc store.PlanDocument, f render.Format, loc *time.Location) ([]byte, error) {
	var buf bytes.Buffer
	if err := render.Handbook(&buf, doc, f, render.Options{Location: loc}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
