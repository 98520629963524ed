package store

import (
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

func TestNoticeText(t *testing.T) {
	due := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	task := func(kind string) noticeFacts {
		return noticeFacts{Kind: kind, TaskID: "DEMO/2027/evaluate/NORTH", TaskKind: review.KindEvaluate, Unit: "NORTH", DueAt: due}
	}
	with := func(f noticeFacts, change func(*noticeFacts)) noticeFacts {
		change(&f)
		return f
	}
	tests := []struct {
		name    string
		facts   noticeFacts
		subject string
		// body lists what the body says, in this order.
		body []string
		// absent is what the body must not say.
		absent []string
	}{
		{
			name: "assigned", facts: task(NoticeAssigned),
			subject: "Uusi tehtävä / New task: DEMO/2027/evaluate/NORTH due 2027-03-01",
			body: []string{"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 2027-03-01 12:00 UTC.",
				"uusi tehtävä", "Katso ja tee: starter task show DEMO/2027/evaluate/NORTH",
				"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 2027-03-01 12:00 UTC.",
				"A new task is open", "See and do: starter task show DEMO/2027/evaluate/NORTH"},
			absent: []string{"Syy:", "Reason:"},
		},
		{
			name: "reminder", facts: task(NoticeReminder),
			subject: "Muistutus / Reminder: DEMO/2027/evaluate/NORTH due 2027-03-01",
			body:    []string{"määräaika lähestyy", "starter task show", "due soon", "starter task show"},
		},
		{
			name: "overdue", facts: task(NoticeOverdue),
			subject: "Myöhässä / Overdue: DEMO/2027/evaluate/NORTH was due 2027-03-01",
			body:    []string{"on myöhässä", "esimiehille", "overdue", "managers have been told"},
		},
		{
			name: "escalation to the managers", facts: with(task(NoticeEscalation), func(f *noticeFacts) { f.Holder = "welfare_staff@NORTH" }),
			subject: "Myöhässä oleva tehtävä / Escalation: DEMO/2027/evaluate/NORTH overdue since 2027-03-01",
			body: []string{"Se on nyt: welfare_staff@NORTH.", "starter task extend|reassign DEMO/2027/evaluate/NORTH",
				"It is now with: welfare_staff@NORTH.", "You may extend or reassign it: starter task extend|reassign DEMO/2027/evaluate/NORTH"},
		},
		{
			name: "reassigned, with a reason", facts: with(task(NoticeReassigned), func(f *noticeFacts) {
				f.Actor, f.Reason = "ella.manager", "Noora is on leave\nuntil May."
			}),
			subject: "Tehtävä sinulle / Task for you: DEMO/2027/evaluate/NORTH due 2027-03-01",
			body: []string{"annettu sinulle (antoi ella.manager)", "Syy: Noora is on leave until May.",
				"given to you by ella.manager", "Reason: Noora is on leave until May."},
		},
		{
			name: "extended", facts: with(task(NoticeExtended), func(f *noticeFacts) {
				f.Actor, f.Reason, f.DueAt = "ella.manager", "Survey results arrive late.", due.AddDate(0, 1, 14)
			}),
			subject: "Määräaikaa jatkettu / Due date extended: DEMO/2027/evaluate/NORTH now due 2027-04-15",
			body:    []string{"määräaika 2027-04-15 12:00 UTC", "jatkoi ella.manager", "Syy: Survey results", "due 2027-04-15 12:00 UTC", "extended by ella.manager", "Reason: Survey results"},
		},
		{
			name: "cancelled", facts: with(task(NoticeCancelled), func(f *noticeFacts) { f.Actor, f.Reason = "ella.manager", "Merger of units." }),
			subject: "Peruttu / Cancelled: DEMO/2027/evaluate/NORTH is no longer needed",
			body:    []string{"peruttu (perui ella.manager)", "Syy: Merger of units.", "Katso: starter task show", "cancelled by ella.manager", "See: starter task show"},
			absent:  []string{"Katso ja tee", "See and do"},
		},
		{
			name: "provider-wide task", facts: noticeFacts{Kind: NoticeAssigned, TaskID: "DEMO/2027/draft/r1", TaskKind: review.KindDraft, DueAt: due},
			subject: "Uusi tehtävä / New task: DEMO/2027/draft/r1 due 2027-03-01",
			body:    []string{"(suunnitelman päivitys, koko järjestäjä)", "(plan update, whole provider)"},
		},
		{
			name: "published", facts: noticeFacts{Kind: NoticePublished, Provider: "DEMO", Year: 2027, Version: 2, EffectiveFrom: "2027-08-01"},
			subject: "Suunnitelma julkaistu / Plan published: DEMO version 2, effective 2027-08-01",
			body: []string{"versio 2 (DEMO) on julkaistu", "voimassa 2027-08-01 alkaen", "Katso: starter cycle status --provider DEMO --year 2027",
				"Version 2 of the student welfare plan of DEMO", "effective from 2027-08-01", "See: starter cycle status --provider DEMO --year 2027"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, body := noticeText(tt.facts)
			if subject != tt.subject {
				t.Errorf("got subject %q, want %q", subject, tt.subject)
			}
			rest := body
			for _, want := range tt.body {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("got body\n%s\nwant it to say %q (after what came before)", body, want)
					continue
				}
				rest = rest[i+len(want):]
			}
			for _, not := range tt.absent {
				if strings.Contains(body, not) {
					t.Errorf("got body\n%s\nwant it not to say %q", body, not)
				}
			}
			// Finnish first, then English, in two short paragraphs.
			fi, en, ok := strings.Cut(body, "\n\n")
			if !ok || strings.Contains(en, "\n\n") {
				t.Errorf("got body\n%s\nwant a Finnish and an English paragraph", body)
			}
			if strings.Contains(fi, "See") || strings.Contains(en, "Katso") {
				t.Errorf("got body\n%s\nwant Finnish first, English second", body)
			}
			for _, line := range strings.Split(body, "\n") {
				if len([]rune(line)) > 200 {
					t.Errorf("got a line of %d characters, want short lines: %q", len([]rune(line)), line)
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("  on\tleave \n until May "); got != "on leave until May" {
		t.Errorf("got %q, want the whitespace collapsed", got)
	}
	long := oneLine(strings.Repeat("ä", 400))
	if n := len([]rune(long)); n != 300 || !strings.HasSuffix(long, "…") {
		t.Errorf("got %d characters ending %q, want 300 ending with an ellipsis", n, long[len(long)-3:])
	}
}
