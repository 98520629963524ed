package main

import (
	"context"
	"time"

	"github.com/oho-dev/oho/service"
)

// retentionRun applies the configured retention periods: it deletes the
// notices dealt with long ago and pseudonymises the people who left long
// ago (README, "Retention and pseudonymisation").
func (a *app) retentionRun(ctx context.Context, args []string) error {
	fs := newFlags("retention run")
	provider := fs.String("provider", "", "provider code (default: every provider, for the operator)")
	as := fs.String("as", "", "run as this manager of the provider (default: the operator)")
	dryRun := fs.Bool("dry-run", false, "say what would be deleted and who pseudonymised, and change nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	// The periods are read before anything else, so that a mistyped one
	// stops the run before it reads or changes anything.
	policy, err := service.RetentionFromEnv()
	if err != nil {
		return err
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	rep, err := svc.RunRetention(ctx, actor, *provider, policy, *dryRun)
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(rep)
	}
	would := func(done, planned string) string {
		if rep.DryRun {
			return planned
		}
		return done
	}
	day := func(t *time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	if rep.NoticesBefore == nil {
		a.printf("notices: kept (%s is not set)\n", service.EnvRetainNotices)
	} else {
		a.printf("notices: %s %s queued before %s and dealt with\n", would("deleted", "would delete"),
			plural(int(rep.Notices), "notice", "notices"), day(rep.NoticesBefore))
	}
	if rep.LeftBefore == nil {
		a.printf("people who left: kept (%s is not set)\n", service.EnvRetainLeft)
		return nil
	}
	a.printf("people who left before %s: %s %s\n", day(rep.LeftBefore), would("pseudonymised", "would pseudonymise"),
		plural(len(rep.Pseudonymised), "person", "people"))
	for _, p := range rep.Pseudonymised {
		if rep.DryRun {
			a.printf("  %s\n", p.Person)
			continue
		}
		// Neither the pseudonym nor its event is printed beside the ID:
		// this output would be the one record tying them together.
		a.printf("  %s: %s rewritten\n", p.Person, plural(int(p.AuditEvents), "audit event", "audit events"))
	}
	for _, p := range rep.HeldBack {
		a.printf("  %s: held back, %s\n", p.ID, p.HeldBack())
	}
	if len(rep.HeldBack) > 0 {
		a.printf("%s held back: a later run pseudonymises them once nothing holds them\n", plural(len(rep.HeldBack), "person", "people"))
	}
	return nil
}
