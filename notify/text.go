package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/review"
)

// The words of the notices are written here, at delivery, from the facts
// the store queued (review.NoticeFacts): plain text, short, Finnish first
// and then English, because staff read them in a mail client or a log. Each
// points to the web page where the thing it announces is seen and done,
// under Config.BaseURL: /tasks/<task ID> for task notices, escalations
// included (a manager extends or reassigns the task there), and
// /plans/<provider> for a publication. An ID is one path segment, its
// slashes escaped, so that DEMO/2027/evaluate/NORTH is
// /tasks/DEMO%2F2027%2Fevaluate%2FNORTH.

// message is the text of a notice's mail.
type message struct {
	Subject string
	Body    string
}

// errNoText marks a notice that this sender cannot put into words: a kind it
// does not know (queued by a newer OHO) or facts that lack what its text
// needs. No attempt can deliver such a notice, so it fails at once.
var errNoText = errors.New("the notice cannot be written")

// text returns the subject and body of a claimed notice: written from its
// facts, with its times in the provider's time zone (review.DefaultTimeZone
// when the notice names none), or, for a notice queued before the outbox
// stored facts, the text stored with it, unchanged.
func text(n notice, baseURL string) (message, error) {
	if n.Facts == nil {
		return message{Subject: n.Subject, Body: n.Body}, nil
	}
	var f review.NoticeFacts
	if err := json.Unmarshal(n.Facts, &f); err != nil {
		return message{}, fmt.Errorf("%w: reading its facts: %v", errNoText, err)
	}
	zone := n.TimeZone
	if zone == "" {
		zone = review.DefaultTimeZone
	}
	loc, err := render.Zone(zone)
	if err != nil {
		// Only a hand-edited providers table holds such a zone: once it is
		// corrected, the notice can be set back to pending.
		return message{}, fmt.Errorf("%w: the provider's %v", errNoText, err)
	}
	return write(f, baseURL, loc)
}

// write writes a notice from its facts, with links under baseURL (no
// trailing slash) and times in loc. A new kind of notice is a new case here.
func write(f review.NoticeFacts, baseURL string, loc *time.Location) (message, error) {
	switch f.Kind {
	case review.NoticeAssigned, review.NoticeReminder, review.NoticeOverdue, review.NoticeEscalation,
		review.NoticeReassigned, review.NoticeExtended, review.NoticeCancelled:
		return taskText(f, baseURL, loc)
	case review.NoticePublished:
		return publishedText(f, baseURL)
	case review.NoticeInvitation:
		return invitationText(f, baseURL, loc)
	default:
		return message{}, fmt.Errorf("%w: this version of OHO has no text for notices of kind %q", errNoText, f.Kind)
	}
}

// taskWords name task kinds in Finnish and English.
var taskWords = map[review.TaskKind][2]string{
	review.KindEvaluate: {"arviointi", "evaluation"},
	review.KindConsult:  {"opiskelijoiden kuuleminen", "student consultation"},
	review.KindDraft:    {"suunnitelman päivitys", "plan update"},
	review.KindSignOff:  {"yksikön hyväksyntä", "unit sign-off"},
	review.KindApprove:  {"suunnitelman hyväksyminen", "plan approval"},
}

// taskText writes a notice about a task, its due time in loc. The subject's
// few words after the task ID are English, and so is its date.
func taskText(f review.NoticeFacts, baseURL string, loc *time.Location) (message, error) {
	if f.TaskID == "" || f.DueAt.IsZero() {
		return message{}, fmt.Errorf("%w: a %s notice needs the task and its due time (got task %q, due %v)", errNoText, f.Kind, f.TaskID, f.DueAt)
	}
	link := taskURL(baseURL, f.TaskID)
	due := render.Day(f.DueAt, loc, render.English)
	tail := "due " + due
	doFI, doEN := "Katso ja tee: "+link, "See and do: "+link
	var subjFI, subjEN, whatFI, whatEN string
	switch f.Kind {
	case review.NoticeAssigned:
		subjFI, subjEN = "Uusi tehtävä", "New task"
		whatFI, whatEN = "Sinulle tai roolillesi on avattu uusi tehtävä.", "A new task is open for you or your role."
	case review.NoticeReminder:
		subjFI, subjEN = "Muistutus", "Reminder"
		whatFI, whatEN = "Tehtävän määräaika lähestyy.", "The task is due soon."
	case review.NoticeOverdue:
		subjFI, subjEN = "Myöhässä", "Overdue"
		tail = "was due " + due
		whatFI, whatEN = "Tehtävä on myöhässä, ja siitä on ilmoitettu esimiehille.", "The task is overdue; the managers have been told."
	case review.NoticeEscalation:
		subjFI, subjEN = "Myöhässä oleva tehtävä", "Escalation"
		tail = "overdue since " + due
		holder := f.Assignee
		if holder == "" {
			holder = review.Pool(f.Role, f.Unit)
		}
		whatFI = fmt.Sprintf("Tehtävä on myöhässä. Se on nyt: %s.", holder)
		whatEN = fmt.Sprintf("The task is overdue. It is now with: %s.", holder)
		doFI = "Voit jatkaa määräaikaa tai siirtää tehtävän: " + link
		doEN = "You may extend or reassign it: " + link
	case review.NoticeReassigned:
		subjFI, subjEN = "Tehtävä sinulle", "Task for you"
		whatFI = fmt.Sprintf("Tehtävä on annettu sinulle (antoi %s).", f.Actor)
		whatEN = fmt.Sprintf("The task has been given to you by %s.", f.Actor)
	case review.NoticeExtended:
		subjFI, subjEN = "Määräaikaa jatkettu", "Due date extended"
		tail = "now due " + due
		whatFI = fmt.Sprintf("Tehtävän määräaikaa on jatkettu (jatkoi %s).", f.Actor)
		whatEN = fmt.Sprintf("The task's due time has been extended by %s.", f.Actor)
	case review.NoticeCancelled:
		subjFI, subjEN = "Peruttu", "Cancelled"
		tail = "is no longer needed"
		whatFI = fmt.Sprintf("Arviointikierros on peruttu (perui %s), eikä tehtävää tarvitse enää tehdä.", f.Actor)
		whatEN = fmt.Sprintf("The review cycle has been cancelled by %s; the task no longer needs doing.", f.Actor)
		doFI, doEN = "Katso: "+link, "See: "+link
	default:
		return message{}, fmt.Errorf("%w: %q is not a task notice", errNoText, f.Kind)
	}

	words, ok := taskWords[f.TaskKind]
	if !ok { // a task kind newer than this text: its name beats nothing
		words = [2]string{string(f.TaskKind), string(f.TaskKind)}
	}
	unitFI, unitEN := "koko järjestäjä", "whole provider"
	if f.Unit != "" {
		unitFI, unitEN = "yksikkö "+f.Unit, "unit "+f.Unit
	}
	atFI, atEN := render.When(f.DueAt, loc, render.Finnish), render.When(f.DueAt, loc, render.English)
	reason := oneLine(f.Reason)
	var b strings.Builder
	fmt.Fprintf(&b, "Tehtävä %s (%s, %s), määräaika %s.\n%s\n", f.TaskID, words[0], unitFI, atFI, whatFI)
	if reason != "" {
		fmt.Fprintf(&b, "Syy: %s\n", reason)
	}
	fmt.Fprintf(&b, "%s\n\n", doFI)
	fmt.Fprintf(&b, "Task %s (%s, %s), due %s.\n%s\n", f.TaskID, words[1], unitEN, atEN, whatEN)
	if reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", reason)
	}
	fmt.Fprintf(&b, "%s\n", doEN)
	return message{
		Subject: fmt.Sprintf("%s / %s: %s %s", subjFI, subjEN, f.TaskID, tail),
		Body:    b.String(),
	}, nil
}

// publishedText writes the notice of a published plan version.
func publishedText(f review.NoticeFacts, baseURL string) (message, error) {
	if f.Provider == "" || f.Version < 1 || f.EffectiveFrom == "" {
		return message{}, fmt.Errorf("%w: a published notice needs the provider, version and effective date (got %q, %d, %q)",
			errNoText, f.Provider, f.Version, f.EffectiveFrom)
	}
	link := planURL(baseURL, f.Provider)
	effFI, effEN := day(f.EffectiveFrom, render.Finnish), day(f.EffectiveFrom, render.English)
	fi := fmt.Sprintf("Opiskeluhuoltosuunnitelman versio %d (%s) on julkaistu vuoden %d arviointikierroksen tuloksena. Se on voimassa %s alkaen.",
		f.Version, f.Provider, f.Year, effFI)
	en := fmt.Sprintf("Version %d of the student welfare plan of %s is published as the result of the %d review cycle. It is effective from %s.",
		f.Version, f.Provider, f.Year, effEN)
	return message{
		Subject: fmt.Sprintf("Suunnitelma julkaistu / Plan published: %s version %d, effective %s", f.Provider, f.Version, effEN),
		Body:    fi + "\nKatso: " + link + "\n\n" + en + "\nSee: " + link + "\n",
	}, nil
}

// invitationText writes an invitation: the one-time link to set one's
// password, and until when it works. Its secret is removed from the outbox
// when the notice is finished (Sender.finish), so a retry after that has
// nothing to write and fails: invite the person again.
func invitationText(f review.NoticeFacts, baseURL string, loc *time.Location) (message, error) {
	if f.Secret == "" || f.ExpiresAt.IsZero() {
		return message{}, fmt.Errorf("%w: an invitation needs its link's secret and expiry (the secret is gone once the notice was dealt with: invite the person again)", errNoText)
	}
	link := baseURL + "/password?token=" + url.QueryEscape(f.Secret)
	untilFI, untilEN := render.When(f.ExpiresAt, loc, render.Finnish), render.When(f.ExpiresAt, loc, render.English)
	by := ""
	if f.Actor != "" {
		by = " (" + f.Actor + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Sinut on kutsuttu OHOon%s, %s-opiskeluhuoltosuunnitelman arviointiin.\n", by, f.Provider)
	fmt.Fprintf(&b, "Aseta salasanasi tästä linkistä; se toimii kerran, %s asti:\n%s\n\n", untilFI, link)
	fmt.Fprintf(&b, "You have been invited to OHO%s, for the review of the student welfare plan of %s.\n", by, f.Provider)
	fmt.Fprintf(&b, "Set your password with this link; it works once, until %s:\n%s\n\n", untilEN, link)
	fmt.Fprintf(&b, "Jos et odottanut tätä, älä käytä linkkiä. / If you did not expect this, do not use the link.\n")
	return message{Subject: "Kutsu OHOon / Invitation to OHO: set your password", Body: b.String()}, nil
}

// day writes a date recorded as YYYY-MM-DD (an effective date) as readers
// of the language write it; anything else as it is. A date has no zone.
func day(s string, lang render.Lang) string {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return render.Day(d, time.UTC, lang)
}

// taskURL is the address of a task's web page under baseURL (no trailing
// slash): the task ID is one path segment, its slashes escaped, so that the
// page's route needs no knowledge of how task IDs are built.
func taskURL(baseURL, taskID string) string {
	return baseURL + "/tasks/" + url.PathEscape(taskID)
}

// planURL is the address of a provider's plan page under baseURL (no
// trailing slash).
func planURL(baseURL, provider string) string {
	return baseURL + "/plans/" + url.PathEscape(provider)
}

// oneLine makes text people typed (a reason) fit on one line of a notice:
// whitespace collapsed, at most 300 characters, so that it can neither
// break the layout nor make a mail long.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 300 {
		s = string([]rune(s)[:299]) + "…"
	}
	return s
}
