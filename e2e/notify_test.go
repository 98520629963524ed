package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/smtptest"
)

// mailbox reads what a loopback SMTP server has received.
type mailbox struct {
	t   *testing.T
	srv *smtptest.Server
}

// matching returns the messages to the person whose subject starts with
// prefix and names the task.
func (m mailbox) matching(person, prefix, taskID string) []smtptest.Message {
	var out []smtptest.Message
	for _, msg := range m.srv.Messages() {
		subj := msg.Subject()
		if len(msg.To) == 1 && msg.To[0] == mailOf(person) && strings.HasPrefix(subj, prefix) && strings.Contains(subj, taskID+" ") {
			out = append(out, msg)
		}
	}
	return out
}

// waitFor waits until such a message has arrived and returns the first.
func (m mailbox) waitFor(person, prefix, taskID string, timeout time.Duration) smtptest.Message {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := m.matching(person, prefix, taskID); len(got) > 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("no %q mail about %s to %s within %v; the server has:\n%s", prefix, taskID, person, timeout, m.summary())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m mailbox) summary() string {
	var b strings.Builder
	for _, msg := range m.srv.Messages() {
		fmt.Fprintf(&b, "  %s  %v  %s\n", msg.Received.Format("15:04:05.000"), msg.To, msg.Subject())
	}
	return b.String()
}

func mailOf(person string) string { return person + "@college.example" }

// Subject prefixes of the notices (notify/text.go).
const (
	subjReminder   = "Muistutus / Reminder: "
	subjOverdue    = "Myöhässä / Overdue: "
	subjEscalation = "Myöhässä oleva tehtävä / Escalation: "
	subjExtended   = "Määräaikaa jatkettu / Due date extended: "
)

// TestRemindersAndEscalationByMail runs a cycle with deadlines of seconds
// against a worker that mails through a real SMTP server on loopback. One
// evaluation is left to run late: its reminder comes before it is due, and at
// the due time its assignee hears it is overdue and the manager gets the
// escalation, each exactly once. Another is extended before its reminder:
// both its reminder and its escalation move with the new due time.
func TestRemindersAndEscalationByMail(t *testing.T) {
	srv := smtptest.Start(t)
	box := mailbox{t, srv}
	e := newEnv(t)
	// The trailing slash of the base URL is dropped from the links.
	e.vars = append(e.vars, "SMTP_URL="+srv.URL()+"?from=oho@example.fi", "OHO_NOTIFY_POLL=100ms", "OHO_BASE_URL=https://oho.college.example/")
	e.startWorker()

	org := e.org()
	for _, p := range org["people"].([]map[string]any) {
		p["email"] = mailOf(p["id"].(string))
	}
	e.ok("org", "import", e.file("org.json", org))
	const before, evaluate, extension = 6 * time.Second, 15 * time.Second, 12 * time.Second
	cfg := fmt.Sprintf(`{"phases": {"evaluate": %q, "consult": "1h"}, "reminders": {"before": %q, "every": "1h"}}`, evaluate, before)
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", year, "--config", e.file("config.json", cfg))

	late := e.taskID(review.KindEvaluate, 0, "HARBOUR")
	moved := e.taskID(review.KindEvaluate, 0, "NORTH")
	e.waitTask(late)
	e.waitTask(moved)
	dueOf := func(id string) time.Time {
		var shown struct {
			DueAt time.Time `json:"due_at"`
		}
		if err := json.Unmarshal([]byte(e.ok("task", "show", id, "--json")), &shown); err != nil {
			t.Fatal(err)
		}
		return shown.DueAt
	}
	due, lateDue := dueOf(moved), dueOf(late)
	if time.Until(due.Add(-before)) < time.Second {
		t.Fatalf("the cycle took too long to open its tasks: %s is due at %s, too soon to extend it before its reminder", moved, due)
	}
	e.ok("task", "extend", moved, "--by", extension.String(), "--as", "m.manager", "--reason", "The unit's survey closes later")
	newDue := due.Add(extension)
	box.waitFor("north.staff", subjExtended, moved, 10*time.Second)

	// The late task: a reminder before it is due, then overdue and escalated.
	reminder := box.waitFor("harbour.staff", subjReminder, late, evaluate+10*time.Second)
	escalation := box.waitFor("m.manager", subjEscalation, late, evaluate+10*time.Second)
	overdue := box.waitFor("harbour.staff", subjOverdue, late, 5*time.Second)
	const slack = 500 * time.Millisecond // the server and this test share a clock
	if at := reminder.Received; at.Before(lateDue.Add(-before-slack)) || !at.Before(lateDue) {
		t.Errorf("the reminder of %s arrived at %s; want between %s and its due time %s", late, at, lateDue.Add(-before), lateDue)
	}
	for _, m := range []smtptest.Message{escalation, overdue} {
		if at := m.Received; at.Before(lateDue.Add(-slack)) {
			t.Errorf("%q of %s arrived at %s, before its due time %s", m.Subject(), late, at, lateDue)
		}
	}
	text := func(m smtptest.Message) string {
		body, err := m.Text()
		if err != nil {
			t.Fatalf("reading %q: %v", m.Subject(), err)
		}
		return strings.ReplaceAll(body, "\r\n", "\n")
	}
	page := "https://oho.college.example/tasks/" + url.PathEscape(late)
	if body := text(escalation); !strings.Contains(body, "It is now with: welfare_staff@HARBOUR") || !strings.Contains(body, "You may extend or reassign it: "+page+"\n") {
		t.Errorf("the escalation mail does not say who has the task and link to its page %s:\n%s", page, body)
	}
	if body := text(reminder); !strings.Contains(body, "See and do: "+page+"\n") || strings.Contains(body, "starter ") {
		t.Errorf("the reminder mail does not link to the task's page %s, or still names a command:\n%s", page, body)
	}
	if id := escalation.Header.Get("Message-Id"); !strings.HasPrefix(id, "<escalation/"+late+"/") {
		t.Errorf("the escalation's Message-ID is %q, want one made of its notice ID", id)
	}

	// By then the extended task would have been reminded and escalated; it
	// was not, and is reminded and escalated on its new due time instead.
	if got := box.matching("north.staff", subjReminder, moved); len(got) > 0 {
		t.Errorf("the extended task %s was reminded at %s, before its new reminder time %s", moved, got[0].Received, newDue.Add(-before))
	}
	movedReminder := box.waitFor("north.staff", subjReminder, moved, extension+10*time.Second)
	movedEscalation := box.waitFor("m.manager", subjEscalation, moved, extension+10*time.Second)
	if at := movedReminder.Received; at.Before(newDue.Add(-before - slack)) {
		t.Errorf("the extended task's reminder arrived at %s, before %s (new due time %s less %s)", at, newDue.Add(-before), newDue, before)
	}
	if at := movedEscalation.Received; at.Before(newDue.Add(-slack)) {
		t.Errorf("the extended task's escalation arrived at %s, before its new due time %s", at, newDue)
	}

	// Several more polls of the outbox: nothing comes twice.
	time.Sleep(2 * time.Second)
	for _, c := range []struct{ person, prefix, task string }{
		{"harbour.staff", subjReminder, late}, {"harbour.staff", subjOverdue, late}, {"m.manager", subjEscalation, late},
		{"north.staff", subjExtended, moved}, {"north.staff", subjReminder, moved}, {"north.staff", subjOverdue, moved}, {"m.manager", subjEscalation, moved},
	} {
		if got := box.matching(c.person, c.prefix, c.task); len(got) != 1 {
			t.Errorf("%q mails about %s to %s: got %d, want exactly 1", c.prefix, c.task, c.person, len(got))
		}
	}
	ids := map[string]bool{}
	for _, msg := range srv.Messages() {
		id := msg.Header.Get("Message-Id")
		if ids[id] {
			t.Errorf("Message-ID %s was sent twice", id)
		}
		ids[id] = true
	}
	if n := e.count(`SELECT count(*) FROM notifications WHERE state <> 'sent'`); n != 0 {
		t.Errorf("%d notices are not sent; want all sent:\n%s", n, box.summary())
	}
	if got, want := len(srv.Messages()), e.count(`SELECT count(*) FROM notifications`); got != want {
		t.Errorf("the server has %d messages for %d notices", got, want)
	}
	t.Logf("tasks due %s (%s) and %s (%s, extended to %s); mail received:\n%s",
		late, lateDue.Format("15:04:05.000"), moved, due.Format("15:04:05.000"), newDue.Format("15:04:05.000"), box.summary())
}
