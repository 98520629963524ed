package e2e

// The browser harness: Debian's Chromium, headless, driven through the
// DevTools protocol by chromedp, with axe-core checking each page against
// WCAG 2.1 AA and a screenshot of each page written to out/screens/.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package, which scripts/devenv.sh
// installs (make test runs it first).
const chromiumPath = "/usr/bin/chromium"

// axeVersion is the version of axe-core kept in testdata (see
// testdata/README.md); checkAccessible checks the page ran this one.
const axeVersion = "4.14.1"

// axeTags are the rules a page must pass: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// stepTimeout bounds each step in the browser, so that a page that never
// shows what a test waits for fails the test instead of hanging it.
const stepTimeout = 30 * time.Second

// console is what a tab has written to its console: the page's errors and
// the browser's, such as a script or a style that the Content-Security-Policy
// blocked, or a file that failed to load.
type console struct {
	mu       sync.Mutex
	messages []consoleMessage
	seen     int // how many consoleErrors has looked at
}

// consoleMessage is one error on the console.
type consoleMessage struct {
	source string // "exception", "console.error" or the browser's: "network", "security"…
	text   string
	url    string
}

func (m consoleMessage) String() string {
	return fmt.Sprintf("%s: %s (%s)", m.source, m.text, m.url)
}

// record keeps the errors among the tab's events. chromedp calls it in the
// loop that reads the tab's messages, before the reply to any later command,
// so a check that runs a command afterwards sees every error before it.
func (c *console) record(ev any) {
	var m consoleMessage
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		m = consoleMessage{source: "exception", text: d.Text, url: d.URL}
		if d.Exception != nil {
			m.text += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Description != "" {
				args = append(args, a.Description)
			} else {
				args = append(args, string(a.Value))
			}
		}
		m = consoleMessage{source: "console.error", text: strings.Join(args, " ")}
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError {
			return
		}
		m = consoleMessage{source: string(ev.Entry.Source), text: ev.Entry.Text, url: ev.Entry.URL}
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages = append(c.messages, m)
}

type consoleKey struct{}

// newBrowser starts a headless Chromium with a fresh profile, asking for
// pages in Finnish as a browser set up in Finland does, and returns the
// context of its one tab, for the helpers below and for chromedp's actions.
// The browser stops when the test ends. A missing Chromium fails the test:
// the browser tests never skip.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserIn(t, "fi-FI,fi")
}

// newBrowserIn is newBrowser with the languages the browser asks for
// (Accept-Language), such as "en-GB,en".
func newBrowserIn(t *testing.T, languages string) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Debian's Chromium at %s (%v): run scripts/devenv.sh chromium, "+
			"or 'make test', which installs it", chromiumPath, err)
	}
	var output bytes.Buffer
	var outputMu sync.Mutex
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		// Root may not run Chromium's sandbox; the pages are the test's own.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these, Chromium connects to Google's services at start
		// and in the background (updates, sync, field trials), which the
		// project's closed network refuses; a test reaches only loopback.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("accept-lang", languages),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(lockedWriter{&outputMu, &output}),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser and binds it to ctx, which has no
	// deadline: the steps below get theirs from stepTimeout.
	if err := chromedp.Do(ctx); err != nil {
		outputMu.Lock()
		defer outputMu.Unlock()
		t.Fatalf("starting %s: %v\n%s", chromiumPath, err, output.String())
	}
	c := &console{}
	if err := chromedp.Listen(ctx, c.record); err != nil {
		t.Fatalf("listening to the console: %v", err)
	}
	return context.WithValue(ctx, consoleKey{}, c)
}

// lockedWriter lets Chromium's output be read while it writes.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// run runs one step in the tab and returns its value, failing the test when
// the step fails or takes longer than stepTimeout.
func run[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs steps that return nothing, as run does.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// openPage loads the address in the tab, waits until it has loaded and
// returns the HTTP status of the document.
func openPage(t *testing.T, ctx context.Context, address string) int {
	t.Helper()
	resp := run(t, ctx, "opening "+address, chromedp.NavigateResponse(address))
	return int(resp.Status)
}

// submit runs the steps that submit a form (typing "\n" into a field, or a
// click on its button), waits until the page they lead to has loaded and
// returns its HTTP status; after a redirect, the status of the last page.
func submit(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) int {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(sctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return int(resp.Status)
}

// pagePath is the path (and query) of the page the tab shows.
func pagePath(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc := run(t, ctx, "reading the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("the tab's location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// pageLang is the page's <html lang>.
func pageLang(t *testing.T, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, "reading <html lang>", chromedp.Evaluate[string](`document.documentElement.lang`))
}

// axeScript is the text of the axe-core fixture, read once.
var axeScript = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "axe-core-"+axeVersion+".min.js"))
	return string(b), err
})

// axeResult is what checkAccessible reads of axe.run's results.
type axeResult struct {
	Version    string    `json:"version"`
	Passes     int       `json:"passes"`
	Violations []axeRule `json:"violations"`
	Incomplete []axeRule `json:"incomplete"`
}

// axeRule is a rule that failed (or that axe could not decide) and where.
type axeRule struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	URL    string    `json:"helpUrl"`
	Nodes  []axeNode `json:"nodes"`
}

type axeNode struct {
	Target  string `json:"target"`
	Summary string `json:"failureSummary"`
}

// axeRun runs axe-core on the page the tab shows and returns what it found.
// The script is injected through the DevTools protocol, which the page's
// Content-Security-Policy (no inline script, scripts from the server only)
// does not apply to, so the page is checked as the server sends it.
func axeRun(t *testing.T, ctx context.Context) axeResult {
	t.Helper()
	script, err := axeScript()
	if err != nil {
		t.Fatalf("reading the axe-core fixture: %v", err)
	}
	if !run(t, ctx, "looking for axe", chromedp.Evaluate[bool](`typeof window.axe === "object"`)) {
		do(t, ctx, "injecting axe-core", chromedp.Evaluate[chromedp.Void](script))
	}
	tags, err := json.Marshal(axeTags)
	if err != nil {
		t.Fatal(err)
	}
	expr := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}}).then(r => {
		const rules = list => list.map(v => ({id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map(n => ({target: JSON.stringify(n.target), failureSummary: n.failureSummary || ""}))}));
		return {version: axe.version, passes: r.passes.length, violations: rules(r.violations), incomplete: rules(r.incomplete)};
	})`
	return run(t, ctx, "running axe-core", chromedp.Evaluate[axeResult](expr, chromedp.EvalAwaitPromise))
}

// checkAccessible fails the test for every WCAG 2.1 A and AA violation
// axe-core finds on the page the tab shows, naming the rule, its impact,
// what it asks for and each element at fault, and for every error on the
// page's console (see checkConsole). What axe cannot decide by itself
// (axe's "incomplete", such as contrast over an image) is logged for a
// person to look at. name says which page and state this is.
func checkAccessible(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	r := axeRun(t, ctx)
	if r.Version != axeVersion {
		t.Fatalf("%s: axe-core %q ran, want the fixture's %s", name, r.Version, axeVersion)
	}
	// A page on which no rule applied was not checked at all.
	if r.Passes == 0 {
		t.Errorf("%s: axe-core found no rule that passes: the page was not checked (%s)", name, pagePath(t, ctx))
	}
	t.Logf("%s: axe-core %s: %d rules pass, %d violations, %d undecided", name, r.Version, r.Passes, len(r.Violations), len(r.Incomplete))
	for _, v := range r.Violations {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: axe %s (%s): %s <%s>", name, v.ID, v.Impact, v.Help, v.URL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n    at %s: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
		t.Error(b.String())
	}
	for _, v := range r.Incomplete {
		targets := make([]string, len(v.Nodes))
		for i, n := range v.Nodes {
			targets[i] = n.Target
		}
		t.Logf("%s: axe could not decide %s (%s) at %s; look at the screenshot", name, v.ID, v.Help, strings.Join(targets, ", "))
	}
	checkConsole(t, ctx, name)
}

// checkConsole fails the test for each error in consoleErrors.
func checkConsole(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, e := range consoleErrors(t, ctx) {
		t.Errorf("%s: the console says %s", name, e)
	}
}

// consoleErrors are the errors the tab's pages have written to the console
// since the last call: exceptions, console.error, and the browser's own
// errors, such as a script or a style the Content-Security-Policy blocked or
// a file that did not load. Two are no error: the load of a document that
// answers with an error status on purpose (a refused login), and the
// browser's own request for /favicon.ico, which no page asks for.
func consoleErrors(t *testing.T, ctx context.Context) []string {
	t.Helper()
	c, _ := ctx.Value(consoleKey{}).(*console)
	if c == nil {
		t.Fatal("the context is not one of newBrowser's")
	}
	loc := run(t, ctx, "reading the location", chromedp.Location())
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []string
	for _, m := range c.messages[c.seen:] {
		if m.source == "network" && (m.url == loc || strings.HasSuffix(m.url, "/favicon.ico")) {
			continue
		}
		errs = append(errs, m.String())
	}
	c.seen = len(c.messages)
	return errs
}

// screenshot writes a PNG of the whole page the tab shows to
// out/screens/<name>.png at the repository's root, for people to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := run(t, ctx, "taking a screenshot of "+name, chromedp.FullScreenshot(100))
	dir, err := filepath.Abs(filepath.Join("..", "out", "screens"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("writing the screenshot: %v", err)
	}
	t.Logf("%s: screenshot %s", name, path)
}

// textOf is the visible text of the first element the CSS selector finds,
// waiting for it as chromedp does.
func textOf(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	return run(t, ctx, "reading "+selector, chromedp.Text(chromedp.CSS(selector), chromedp.NodeVisible))
}

// TestBrowserHarnessFindsFaults holds the harness to what it promises on a
// page made to fail, served with a Content-Security-Policy as strict as
// OHO's: axe-core, injected through the DevTools protocol, runs despite the
// policy and names each violation; the console check sees the inline script
// the policy blocked. Without it, a harness that checked nothing would pass
// every page.
func TestBrowserHarnessFindsFaults(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>Bad</title><link rel="stylesheet" href="/bad.css"></head>
<body><main><h1>Bad page</h1>
<p class="faint">Grey on white.</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form><input name="q"></form>
<script>document.title = "ran";</script>
</main></body></html>`)
	})
	mux.HandleFunc("GET /bad.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `.faint { color: #bbb; background: #fff; }`)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	ctx := newBrowser(t)
	if code := openPage(t, ctx, ts.URL+"/bad"); code != http.StatusOK {
		t.Fatalf("GET /bad: %d", code)
	}
	r := axeRun(t, ctx)
	if r.Version != axeVersion || r.Passes == 0 {
		t.Errorf("axe-core %q ran with %d rules passing, want %s with some", r.Version, r.Passes, axeVersion)
	}
	found := map[string][]axeNode{}
	for _, v := range r.Violations {
		found[v.ID] = v.Nodes
	}
	for _, want := range []struct{ id, target string }{
		{"html-has-lang", `["html"]`},
		{"image-alt", `["img"]`},
		{"label", `["input"]`},
		{"color-contrast", `["p"]`},
	} {
		if nodes := found[want.id]; len(nodes) != 1 || nodes[0].Target != want.target {
			t.Errorf("axe's %s: got %+v, want one node at %s", want.id, nodes, want.target)
		}
	}
	if title := run(t, ctx, "reading the title", chromedp.Title()); title != "Bad" {
		t.Errorf("the title is %q: the inline script ran despite the policy", title)
	}
	errs := consoleErrors(t, ctx)
	if len(errs) != 1 || !strings.Contains(errs[0], "Content Security Policy") {
		t.Errorf("the console's errors: got %q, want the inline script refused by the Content Security Policy", errs)
	}
}
