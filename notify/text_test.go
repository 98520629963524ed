package notify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
)

// lines joins the lines of a body, each ended by a newline.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

// stored is a claimed notice with the facts as the store writes them.
func stored(t *testing.T, f review.NoticeFacts) notice {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return notice{ID: "n1", Kind: string(f.Kind), Facts: b}
}

func TestText(t *testing.T) {
	const base = "https://oho.example.fi"
	const page = base + "/tasks/DEMO%2F2027%2Fevaluate%2FNORTH"
	due := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	task := func(kind review.NoticeKind, change func(*review.NoticeFacts)) review.NoticeFacts {
		f := review.NoticeFacts{Kind: kind, TaskID: "DEMO/2027/evaluate/NORTH", TaskKind: review.KindEvaluate,
			Unit: "NORTH", Role: review.RoleWelfareStaff, DueAt: due}
		if change != nil {
			change(&f)
		}
		return f
	}
	tests := []struct {
		name  string
		facts review.NoticeFacts
		zone  string // the provider's; Helsinki's when empty
		want  message
	}{
		{
			name: "assigned", facts: task(review.NoticeAssigned, nil),
			want: message{
				Subject: "Uusi tehtävä / New task: DEMO/2027/evaluate/NORTH due 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 14.00 EET.",
					"Sinulle tai roolillesi on avattu uusi tehtävä.",
					"Katso ja tee: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 14:00 EET.",
					"A new task is open for you or your role.",
					"See and do: "+page),
			},
		},
		{
			name: "reminder", facts: task(review.NoticeReminder, func(f *review.NoticeFacts) { f.Assignee = "demo.nurse" }),
			want: message{
				Subject: "Muistutus / Reminder: DEMO/2027/evaluate/NORTH due 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 14.00 EET.",
					"Tehtävän määräaika lähestyy.",
					"Katso ja tee: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 14:00 EET.",
					"The task is due soon.",
					"See and do: "+page),
			},
		},
		{
			name: "overdue", facts: task(review.NoticeOverdue, nil),
			want: message{
				Subject: "Myöhässä / Overdue: DEMO/2027/evaluate/NORTH was due 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 14.00 EET.",
					"Tehtävä on myöhässä, ja siitä on ilmoitettu esimiehille.",
					"Katso ja tee: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 14:00 EET.",
					"The task is overdue; the managers have been told.",
					"See and do: "+page),
			},
		},
		{
			name: "escalation of a pool task", facts: task(review.NoticeEscalation, nil),
			want: message{
				Subject: "Myöhässä oleva tehtävä / Escalation: DEMO/2027/evaluate/NORTH overdue since 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 14.00 EET.",
					"Tehtävä on myöhässä. Se on nyt: welfare_staff@NORTH.",
					"Voit jatkaa määräaikaa tai siirtää tehtävän: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 14:00 EET.",
					"The task is overdue. It is now with: welfare_staff@NORTH.",
					"You may extend or reassign it: "+page),
			},
		},
		{
			name: "escalation of a claimed task", facts: task(review.NoticeEscalation, func(f *review.NoticeFacts) { f.Assignee = "demo.nurse" }),
			want: message{
				Subject: "Myöhässä oleva tehtävä / Escalation: DEMO/2027/evaluate/NORTH overdue since 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 14.00 EET.",
					"Tehtävä on myöhässä. Se on nyt: demo.nurse.",
					"Voit jatkaa määräaikaa tai siirtää tehtävän: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 14:00 EET.",
					"The task is overdue. It is now with: demo.nurse.",
					"You may extend or reassign it: "+page),
			},
		},
		{
			name: "reassigned, with a reason over lines", facts: task(review.NoticeReassigned, func(f *review.NoticeFacts) {
				f.Assignee, f.Actor, f.Reason = "demo.head", "ella.manager", "  Noora is on leave\r\nuntil\tMay.\n\nSee HR. "
			}),
			want: message{
				Subject: "Tehtävä sinulle / Task for you: DEMO/2027/evaluate/NORTH due 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 14.00 EET.",
					"Tehtävä on annettu sinulle (antoi ella.manager).",
					"Syy: Noora is on leave until May. See HR.",
					"Katso ja tee: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 14:00 EET.",
					"The task has been given to you by ella.manager.",
					"Reason: Noora is on leave until May. See HR.",
					"See and do: "+page),
			},
		},
		{
			name: "extended", facts: task(review.NoticeExtended, func(f *review.NoticeFacts) {
				f.Actor, f.Reason, f.DueAt = "ella.manager", "Survey results arrive late.", due.AddDate(0, 1, 14)
			}),
			want: message{
				Subject: "Määräaikaa jatkettu / Due date extended: DEMO/2027/evaluate/NORTH now due 15 Apr 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 15.4.2027 klo 15.00 EEST.",
					"Tehtävän määräaikaa on jatkettu (jatkoi ella.manager).",
					"Syy: Survey results arrive late.",
					"Katso ja tee: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 15 Apr 2027 15:00 EEST.",
					"The task's due time has been extended by ella.manager.",
					"Reason: Survey results arrive late.",
					"See and do: "+page),
			},
		},
		{
			name: "cancelled", facts: task(review.NoticeCancelled, func(f *review.NoticeFacts) { f.Actor, f.Reason = "ella.manager", "Merger of units." }),
			want: message{
				Subject: "Peruttu / Cancelled: DEMO/2027/evaluate/NORTH is no longer needed",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 14.00 EET.",
					"Arviointikierros on peruttu (perui ella.manager), eikä tehtävää tarvitse enää tehdä.",
					"Syy: Merger of units.",
					"Katso: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 14:00 EET.",
					"The review cycle has been cancelled by ella.manager; the task no longer needs doing.",
					"Reason: Merger of units.",
					"See: "+page),
			},
		},
		{
			name: "provider-wide task, due time given in another zone",
			facts: review.NoticeFacts{Kind: review.NoticeAssigned, TaskID: "DEMO/2027/draft/r1", TaskKind: review.KindDraft,
				Role: review.RolePlanEditor, DueAt: due.In(time.FixedZone("EET", 2*3600))},
			want: message{
				Subject: "Uusi tehtävä / New task: DEMO/2027/draft/r1 due 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/draft/r1 (suunnitelman päivitys, koko järjestäjä), määräaika 1.3.2027 klo 14.00 EET.",
					"Sinulle tai roolillesi on avattu uusi tehtävä.",
					"Katso ja tee: "+base+"/tasks/DEMO%2F2027%2Fdraft%2Fr1",
					"",
					"Task DEMO/2027/draft/r1 (plan update, whole provider), due 1 Mar 2027 14:00 EET.",
					"A new task is open for you or your role.",
					"See and do: "+base+"/tasks/DEMO%2F2027%2Fdraft%2Fr1"),
			},
		},
		{
			// Half past eleven at night in UTC is the next day in Helsinki but
			// not in Reykjavik: the date in the subject is the provider's.
			name: "a provider in another zone", zone: "Atlantic/Reykjavik",
			facts: task(review.NoticeReminder, func(f *review.NoticeFacts) { f.DueAt = due.Add(11*time.Hour + 30*time.Minute) }),
			want: message{
				Subject: "Muistutus / Reminder: DEMO/2027/evaluate/NORTH due 1 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 1.3.2027 klo 23.30 GMT.",
					"Tehtävän määräaika lähestyy.",
					"Katso ja tee: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 1 Mar 2027 23:30 GMT.",
					"The task is due soon.",
					"See and do: "+page),
			},
		},
		{
			name: "the same moment in Helsinki", zone: "Europe/Helsinki",
			facts: task(review.NoticeReminder, func(f *review.NoticeFacts) { f.DueAt = due.Add(11*time.Hour + 30*time.Minute) }),
			want: message{
				Subject: "Muistutus / Reminder: DEMO/2027/evaluate/NORTH due 2 Mar 2027",
				Body: lines(
					"Tehtävä DEMO/2027/evaluate/NORTH (arviointi, yksikkö NORTH), määräaika 2.3.2027 klo 1.30 EET.",
					"Tehtävän määräaika lähestyy.",
					"Katso ja tee: "+page,
					"",
					"Task DEMO/2027/evaluate/NORTH (evaluation, unit NORTH), due 2 Mar 2027 01:30 EET.",
					"The task is due soon.",
					"See and do: "+page),
			},
		},
		{
			name:  "published",
			facts: review.NoticeFacts{Kind: review.NoticePublished, Provider: "DEMO", Year: 2027, Version: 2, EffectiveFrom: "2027-08-01"},
			want: message{
				Subject: "Suunnitelma julkaistu / Plan published: DEMO version 2, effective 1 Aug 2027",
				Body: lines(
					"Opiskeluhuoltosuunnitelman versio 2 (DEMO) on julkaistu vuoden 2027 arviointikierroksen tuloksena. Se on voimassa 1.8.2027 alkaen.",
					"Katso: "+base+"/plans/DEMO",
					"",
					"Version 2 of the student welfare plan of DEMO is published as the result of the 2027 review cycle. It is effective from 1 Aug 2027.",
					"See: "+base+"/plans/DEMO"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := stored(t, tt.facts)
			n.TimeZone = tt.zone
			got, err := text(n, base)
			if err != nil {
				t.Fatalf("got error %v, want the text", err)
			}
			if got.Subject != tt.want.Subject {
				t.Errorf("got subject\n%q\nwant\n%q", got.Subject, tt.want.Subject)
			}
			if got.Body != tt.want.Body {
				t.Errorf("got body\n%s\nwant\n%s", got.Body, tt.want.Body)
			}
		})
	}
}

func TestTextOfALegacyNoticeIsItsStoredText(t *testing.T) {
	n := notice{
		ID: "reminder/DEMO/2027/evaluate/NORTH/1/demo.nurse", Kind: "reminder",
		Subject: "Muistutus / Reminder: DEMO/2027/evaluate/NORTH due 1 Mar 2027",
		Body:    "Katso ja tee: starter task show DEMO/2027/evaluate/NORTH\n\nSee and do: starter task show DEMO/2027/evaluate/NORTH\n",
	}
	got, err := text(n, "https://oho.example.fi")
	if err != nil {
		t.Fatalf("got error %v, want the stored text", err)
	}
	if got.Subject != n.Subject || got.Body != n.Body {
		t.Errorf("got %q\n%s\nwant the stored text unchanged: %q\n%s", got.Subject, got.Body, n.Subject, n.Body)
	}
}

func TestTextRefusesWhatItCannotWrite(t *testing.T) {
	tests := []struct {
		name  string
		facts string
		says  string
	}{
		{"a kind this version does not know", `{"kind": "appointment", "token_id": "t1"}`, `no text for notices of kind "appointment"`},
		{"an invitation whose secret is gone", `{"kind": "invitation", "provider": "DEMO", "expires_at": "2027-03-08T12:00:00Z"}`, "invite the person again"},
		{"no kind", `{"task_id": "DEMO/2027/evaluate/NORTH"}`, `kind ""`},
		{"a task notice without its task", `{"kind": "reminder", "due_at": "2027-03-01T12:00:00Z"}`, "needs the task and its due time"},
		{"a task notice without its due time", `{"kind": "overdue", "task_id": "DEMO/2027/evaluate/NORTH"}`, "needs the task and its due time"},
		{"a publication without its version", `{"kind": "published", "provider": "DEMO", "effective_from": "2027-08-01"}`, "needs the provider, version and effective date"},
		{"facts that are not an object", `["reminder"]`, "reading its facts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := text(notice{ID: "n1", Facts: []byte(tt.facts)}, "https://oho.example.fi")
			if !errors.Is(err, errNoText) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %+v, %v; want an error marked errNoText saying %q", got, err, tt.says)
			}
		})
	}
}

func TestTextOfAProviderWhoseZoneDoesNotLoad(t *testing.T) {
	// Only a providers table edited by hand holds such a zone; the notice
	// is not written in some other zone instead.
	n := stored(t, review.NoticeFacts{Kind: review.NoticeReminder, TaskID: "DEMO/2027/evaluate/NORTH", TaskKind: review.KindEvaluate,
		DueAt: time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)})
	n.TimeZone = "Mars/Base"
	got, err := text(n, "https://oho.example.fi")
	if !errors.Is(err, errNoText) || !strings.Contains(err.Error(), `time zone "Mars/Base" cannot be used`) {
		t.Fatalf("got %+v, %v; want an error marked errNoText naming the zone", got, err)
	}
}

func TestTextIgnoresFactsItDoesNotUse(t *testing.T) {
	// A newer OHO may add facts to a kind this sender knows.
	facts := `{"kind": "reminder", "task_id": "DEMO/2027/consult/NORTH", "task_kind": "consult", "unit": "NORTH",
		"due_at": "2027-03-01T12:00:00Z", "priority": "high"}`
	got, err := text(notice{ID: "n1", Facts: []byte(facts)}, "http://localhost:8080")
	if err != nil {
		t.Fatalf("got error %v, want the text", err)
	}
	if want := "See and do: http://localhost:8080/tasks/DEMO%2F2027%2Fconsult%2FNORTH\n"; !strings.HasSuffix(got.Body, want) {
		t.Errorf("got body\n%s\nwant it to end with %q", got.Body, want)
	}
}

func TestLinks(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{taskURL("https://oho.example.fi", "DEMO/2027/evaluate/NORTH"), "https://oho.example.fi/tasks/DEMO%2F2027%2Fevaluate%2FNORTH"},
		{taskURL("https://example.fi/oho", "DEMO/2027/signoff/r2/ÄÄNE KOSKI"), "https://example.fi/oho/tasks/DEMO%2F2027%2Fsignoff%2Fr2%2F%C3%84%C3%84NE%20KOSKI"},
		{taskURL("http://localhost:8080", "A?b#c"), "http://localhost:8080/tasks/A%3Fb%23c"},
		{planURL("https://oho.example.fi", "DEMO"), "https://oho.example.fi/plans/DEMO"},
		{planURL("https://oho.example.fi", "A/B"), "https://oho.example.fi/plans/A%2FB"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
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

func TestInvitationText(t *testing.T) {
	got, err := text(notice{ID: "invitation/x/p", Facts: []byte(`{"kind": "invitation", "actor": "ella.manager", "provider": "DEMO",
		"secret": "ohl_a+b/c", "expires_at": "2027-03-08T12:00:00Z"}`)}, "https://oho.example.fi")
	if err != nil {
		t.Fatal(err)
	}
	link := "https://oho.example.fi/password?token=ohl_a%2Bb%2Fc"
	want := message{
		Subject: "Kutsu OHOon / Invitation to OHO: set your password",
		Body: "Sinut on kutsuttu OHOon (ella.manager), DEMO-opiskeluhuoltosuunnitelman arviointiin.\n" +
			"Aseta salasanasi tästä linkistä; se toimii kerran, 8.3.2027 klo 14.00 EET asti:\n" + link + "\n\n" +
			"You have been invited to OHO (ella.manager), for the review of the student welfare plan of DEMO.\n" +
			"Set your password with this link; it works once, until 8 Mar 2027 14:00 EET:\n" + link + "\n\n" +
			"Jos et odottanut tätä, älä käytä linkkiä. / If you did not expect this, do not use the link.\n",
	}
	if got != want {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}
