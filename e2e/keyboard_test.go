package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/oho-dev/oho/review"
)

// focused describes the element that has the keyboard focus: its tag, id,
// href and text, and whether a focus outline is drawn around it.
type focused struct {
	Tag, ID, Href, Text string
	Outline             bool
	Visible             bool
}

func focusNow(t *testing.T, ctx context.Context) focused {
	t.Helper()
	return run(t, ctx, "reading the focused element", chromedp.Evaluate[focused](`(() => {
  const e = document.activeElement;
  if (!e) return {Tag: "none", ID: "", Href: "", Text: "", Outline: false, Visible: false};
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  return {Tag: e.tagName.toLowerCase(), ID: e.id || "", Href: e.getAttribute("href") || "", Text: (e.innerText || e.value || "").trim(),
          Outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0,
          Visible: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth};
})()`))
}

// press sends keys to the focused element, as a person typing does.
func press(t *testing.T, ctx context.Context, what, keys string) {
	t.Helper()
	do(t, ctx, what, chromedp.KeyEvent(keys))
}

// tabTo presses Tab until the focus is on an element the test accepts,
// checking that every element the focus passes is visible and outlined;
// it fails after max presses.
func tabTo(t *testing.T, ctx context.Context, what string, max int, want func(focused) bool) focused {
	t.Helper()
	for i := 0; i < max; i++ {
		press(t, ctx, "pressing Tab", "\t")
		f := focusNow(t, ctx)
		if f.Tag != "body" && f.Tag != "main" && (!f.Outline || !f.Visible) {
			t.Errorf("the focus on <%s id=%q> %q is not visible (outline %v, on screen %v)", f.Tag, f.ID, f.Text, f.Outline, f.Visible)
		}
		if want(f) {
			return f
		}
	}
	t.Fatalf("%s: not reached with %d presses of Tab", what, max)
	return focused{}
}

// keyPress is one press of a key as a keyboard sends it: keyDown with the
// text it types (and the editing commands it stands for, such as selectAll
// for Ctrl+A), then keyUp.
func keyPress(key, code string, vk int64, text string, commands ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Code: code,
			WindowsVirtualKeyCode: vk, Text: text, Commands: commands}
		if len(commands) > 0 {
			down.Modifiers = int64(chromedp.ModifierCtrl)
		}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: key, Code: code, WindowsVirtualKeyCode: vk}
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
		return err
	})
}

func byID(id string) func(focused) bool { return func(f focused) bool { return f.ID == id } }

// TestEvaluationByKeyboard completes a unit's evaluation from the inbox
// with the keyboard alone, in Finnish: the skip link first, Tab to the task,
// Enter, typing into the fields, a refused value whose summary link takes
// the focus to its field, and the evaluation sent — every focus visible.
// Each page and the refused form pass axe-core in Finnish, and the same
// pages in English in a browser that asks for English.
func TestEvaluationByKeyboard(t *testing.T) {
	w := newWebWorld(t, webOptions{})
	e, srv := w.env, w.srv
	e.ok("cycle", "start", "--as", "m.manager", "--provider", e.provider, "--year", "2026", "--config", e.file("config.json", catalogueConfig("HARBOUR")))
	evalID := review.TaskID(e.provider, 2026, review.KindEvaluate, 0, "NORTH")
	e.waitTask(evalID)

	// English first, in a browser that asks for it: the same pages pass.
	en := newBrowserIn(t, "en-GB,en")
	w.loginIn(en, "north.staff")
	if pageLang(t, en) != "en" || textOf(t, en, "h1") != "My tasks" {
		t.Errorf("the inbox in an English browser: lang %q, heading %q", pageLang(t, en), textOf(t, en, "h1"))
	}
	checkAccessible(t, en, "inbox-en")
	screenshot(t, en, "inbox-en")
	openPage(t, en, srv.base+"/tasks/"+url.PathEscape(evalID))
	checkAccessible(t, en, "evaluate-en")
	screenshot(t, en, "evaluate-en")
	openPage(t, en, srv.base+"/accessibility")
	checkAccessible(t, en, "accessibility-en")
	openPage(t, en, srv.base+"/students")
	checkAccessible(t, en, "students-en")

	ctx := newBrowser(t)
	w.loginIn(ctx, "north.staff")
	checkAccessible(t, ctx, "inbox-fi")
	screenshot(t, ctx, "inbox-fi")

	// The skip link comes first and takes the focus to the content.
	press(t, ctx, "pressing Tab", "\t")
	if f := focusNow(t, ctx); f.Href != "#main" || !f.Visible || !f.Outline {
		t.Fatalf("the first Tab focuses %+v, want the visible skip link", f)
	}
	press(t, ctx, "pressing Enter on the skip link", "\r")
	if f := focusNow(t, ctx); f.ID != "main" {
		t.Errorf("the skip link moved the focus to %+v, want main", f)
	}
	// On to the task, and Enter.
	tabTo(t, ctx, "the evaluation in the inbox", 10, func(f focused) bool { return strings.Contains(f.Href, "/tasks/") })
	if code := submit(t, ctx, "opening the task with Enter", chromedp.KeyEvent("\r")); code != http.StatusOK {
		t.Fatalf("opening the task: got %d", code)
	}
	if got := textOf(t, ctx, "h1"); got != "Arviointi: NORTH" {
		t.Fatalf("the task's heading is %q", got)
	}
	checkAccessible(t, ctx, "evaluate-fi")
	screenshot(t, ctx, "evaluate-fi")

	// The values, a finding, and a value that is no number.
	tabTo(t, ctx, "the first indicator's value", 20, byID("ind-0-value"))
	press(t, ctx, "typing SAFE's value", "80")
	tabTo(t, ctx, "the second indicator's value", 5, byID("ind-1-value"))
	press(t, ctx, "typing ABSENT's value", "paljon")
	tabTo(t, ctx, "the first finding's section", 10, byID("f-0-section"))
	press(t, ctx, "choosing the section", "Communal")
	tabTo(t, ctx, "the first finding's text", 5, byID("f-0-text"))
	press(t, ctx, "typing the finding", "Supervision gaps in the workshop halls")
	tabTo(t, ctx, "the send button", 40, func(f focused) bool { return f.Tag == "button" && f.Text == "Lähetä arviointi" })
	if code := submit(t, ctx, "sending with Enter", chromedp.KeyEvent("\r")); code != http.StatusUnprocessableEntity {
		t.Fatalf("the evaluation with a value that is no number: got %d, want 422", code)
	}
	checkAccessible(t, ctx, "evaluate-refused-fi")
	screenshot(t, ctx, "evaluate-refused-fi")

	// The refused form opens with the focus on its summary of problems,
	// whose link takes the focus to the field; correct it.
	if f := focusNow(t, ctx); f.ID != "problems" {
		t.Errorf("the refused form opens with the focus on %+v, want the summary of problems", f)
	}
	link := tabTo(t, ctx, "the summary's link", 15, func(f focused) bool { return f.Href == "#ind-1-value" })
	if !strings.Contains(link.Text, "paljon ei ole luku") {
		t.Errorf("the summary's link says %q", link.Text)
	}
	// Enter as one key press: keyDown with its text, then keyUp, as a
	// keyboard sends it (chromedp's KeyEvent sends the character as an event
	// of its own, which would reach the field the link focused).
	do(t, ctx, "following the link with Enter", keyPress("Enter", "Enter", 13, "\r"))
	if f := focusNow(t, ctx); f.ID != "ind-1-value" {
		t.Fatalf("the summary's link moved the focus to %+v, want ind-1-value", f)
	}
	do(t, ctx, "selecting the value with Ctrl+A", keyPress("a", "KeyA", 65, "", "selectAll"))
	press(t, ctx, "typing the value again", "9,5")
	tabTo(t, ctx, "the send button", 40, func(f focused) bool { return f.Tag == "button" && f.Text == "Lähetä arviointi" })
	if code := submit(t, ctx, "sending with Enter", chromedp.KeyEvent("\r")); code != http.StatusOK || !strings.HasPrefix(pagePath(t, ctx), "/?done=") {
		t.Fatalf("the corrected evaluation: got %d at %s: %s", code, pagePath(t, ctx), textOf(t, ctx, "main"))
	}
	if got := textOf(t, ctx, ".notice"); !strings.Contains(got, "on tehty ja kirjattu") {
		t.Errorf("the inbox after the evaluation says %q", got)
	}
	checkAccessible(t, ctx, "inbox-done-fi")
	if n := e.count(`SELECT count(*) FROM findings WHERE unit_code = 'NORTH' AND section = 'communal' AND text = 'Supervision gaps in the workshop halls'`); n != 1 {
		t.Errorf("recorded %d of the finding typed", n)
	}
	if n := e.count(`SELECT count(*) FROM indicators WHERE unit_code = 'NORTH' AND (code, value) IN (('SAFE', 80), ('ABSENT', 9.5))`); n != 2 {
		t.Errorf("recorded %d of the two values typed", n)
	}
}
