// Command pages measures how long the web pages take to make, on a database
// with the demo's data and a million done tasks of other providers besides:
// for each page and person, the server time of many requests (p50, p95,
// max) and the size of the HTML, against the budget of the web issue (p95
// at most 50 ms, at most 100 KB). It prints figures; it is a benchmark, not
// a test, and it exits 0 whatever they are unless it cannot run.
//
// scripts/bench-pages.sh runs it the way it is meant to be run: on a
// database of its own, after 'starter demo' filled it. It needs
// DATABASE_URL (that database, as the application role), ADMIN_DATABASE_URL
// (the same database as a superuser, to add the tasks), and Temporal as
// every OHO program does.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/connect"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
	"github.com/oho-dev/oho/web"
)

// Budgets of the web issue.
const (
	budgetP95  = 50 * time.Millisecond
	budgetSize = 100 << 10
)

func main() {
	tasks := flag.Int("tasks", 1_000_000, "done tasks of other providers to have in the database")
	n := flag.Int("n", 200, "requests per page")
	password := flag.String("password", "harjula-demo-2026", "the demo people's password")
	flag.Parse()
	if err := run(*tasks, *n, *password); err != nil {
		fmt.Fprintf(os.Stderr, "bench pages: %v\n", err)
		os.Exit(1)
	}
}

func run(tasks, n int, password string) error {
	ctx := context.Background()
	admin := os.Getenv("ADMIN_DATABASE_URL")
	if admin == "" {
		return fmt.Errorf("ADMIN_DATABASE_URL is not set: the benchmark adds its tasks as a superuser (scripts/bench-pages.sh sets it)")
	}
	if err := seed(ctx, admin, tasks); err != nil {
		return err
	}
	db, err := connect.Database(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var (
		dial     sync.Once
		temporal client.Client
		dialErr  error
	)
	svc := service.New(service.Config{Store: store.New(db), TaskQueue: connect.TaskQueue(),
		Temporal: func(ctx context.Context) (client.Client, error) {
			dial.Do(func() { temporal, dialErr = connect.Temporal(ctx, quiet) })
			return temporal, dialErr
		}})
	srv, err := web.New(web.Config{Service: svc, DB: db.DB, BaseURL: "http://127.0.0.1", Logger: quiet})
	if err != nil {
		return err
	}
	defer srv.Close()
	timing := &timer{}
	ts := httptest.NewServer(timing.wrap(srv.Handler()))
	defer ts.Close()

	var ids []string
	if err := db.SelectContext(ctx, &ids, `SELECT id FROM tasks WHERE cycle_id LIKE 'review-cycle/DEMO/%' ORDER BY created_at DESC LIMIT 1`); err != nil || len(ids) == 0 {
		return fmt.Errorf("no task of the demo in the database (run 'starter demo' on it first): %v", err)
	}
	var year int
	if err := db.GetContext(ctx, &year, `SELECT max(year) FROM cycles WHERE provider_code = 'DEMO'`); err != nil {
		return err
	}
	taskOf := func(kind, unit string) (string, error) {
		var id string
		err := db.GetContext(ctx, &id, `SELECT id FROM tasks WHERE cycle_id = $1 AND kind = $2 AND unit_code = $3 ORDER BY round DESC LIMIT 1`,
			fmt.Sprintf("review-cycle/DEMO/%d", year), kind, unit)
		return id, err
	}
	evalID, err := taskOf("evaluate", "NORTH")
	if err != nil {
		return err
	}
	draftID, err := taskOf("draft", "")
	if err != nil {
		return err
	}
	signID, err := taskOf("signoff", "NORTH")
	if err != nil {
		return err
	}
	var version int
	if err := db.GetContext(ctx, &version, `SELECT max(version) FROM plan_versions pv JOIN plans p ON p.id = pv.plan_id WHERE p.provider_code = 'DEMO'`); err != nil {
		return err
	}
	pages := []struct{ person, path string }{
		{"", "/login"},
		{"", "/accessibility"},
		{"north.nurse", "/"},
		{"north.nurse", "/tasks/" + url.PathEscape(evalID)},
		{"pekka.editor", "/tasks/" + url.PathEscape(draftID)},
		{"north.head", "/tasks/" + url.PathEscape(signID)},
		{"pekka.editor", "/"},
		{"north.students", "/students"},
		{"ella.manager", "/students"},
		{"ella.manager", "/dashboard"},
		{"aino.auditor", "/audit"},
		{"aino.auditor", "/cycles"},
		{"aino.auditor", fmt.Sprintf("/cycles/DEMO/%d/report", year)},
		{"aino.auditor", "/plans/DEMO"},
		{"aino.auditor", fmt.Sprintf("/plans/DEMO/diff?from=1&to=%d", version)},
		{"aino.auditor", fmt.Sprintf("/plans/DEMO/handbook?version=%d", version)},
		{"aino.auditor", fmt.Sprintf("/cycles/DEMO/%d/workflows", year)},
		{"ella.manager", "/dashboard/tasks/" + url.PathEscape(evalID)},
	}
	clients := map[string]*http.Client{}
	var count int
	if err := db.GetContext(ctx, &count, `SELECT count(*) FROM tasks`); err != nil {
		return err
	}
	fmt.Printf("%d tasks in the database; %d requests per page after 5 to warm up; server time measured around the handler\n\n", count, n)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "page\tas\tstatus\tp50\tp95\tmax\tHTML\twithin budget\t")
	for _, p := range pages {
		c, ok := clients[p.person]
		if !ok {
			if c, err = login(ts.URL, p.person, password); err != nil {
				return err
			}
			clients[p.person] = c
		}
		var status, size int
		timing.reset()
		for i := 0; i < n+5; i++ {
			if i == 5 {
				timing.reset()
			}
			resp, err := c.Get(ts.URL + p.path)
			if err != nil {
				return fmt.Errorf("GET %s: %w", p.path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, size = resp.StatusCode, len(b)
		}
		p50, p95, max := timing.percentiles()
		ok = p95 <= budgetP95 && size <= budgetSize && status == http.StatusOK
		who := p.person
		if who == "" {
			who = "(nobody)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.1f KB\t%s\t\n", p.path, who, status, ms(p50), ms(p95), ms(max), float64(size)/1024, yesNo(ok))
	}
	return tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// timer records how long the handler takes for each request.
type timer struct {
	mu    sync.Mutex
	times []time.Duration
}

func (t *timer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		t.mu.Lock()
		t.times = append(t.times, d)
		t.mu.Unlock()
	})
}

func (t *timer) reset() {
	t.mu.Lock()
	t.times = nil
	t.mu.Unlock()
}

func (t *timer) percentiles() (p50, p95, max time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := slices.Clone(t.times)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0, 0
	}
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.95), s[len(s)-1]
}

// login logs a demo person in with the local account's form; nobody ("")
// gets a client without a session.
func login(base, person, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	if person == "" {
		return c, nil
	}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"person": {person}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/" {
		return nil, fmt.Errorf("%s could not log in (ended at %s with %d): was the database filled by 'starter demo'?", person, resp.Request.URL, resp.StatusCode)
	}
	return c, nil
}

// seed adds done tasks of other providers until the database holds the
// number asked for: 100 providers, each with cycles of 1,000 done tasks,
// written in one statement per provider by the administrator (these are not
// cycles anyone ran, so nothing is audited).
func seed(ctx context.Context, adminURL string, want int) error {
	db, err := sqlx.ConnectContext(ctx, "postgres", adminURL)
	if err != nil {
		return fmt.Errorf("connecting as the administrator: %w", err)
	}
	defer db.Close()
	var have int
	if err := db.GetContext(ctx, &have, `SELECT count(*) FROM tasks WHERE cycle_id LIKE 'review-cycle/BENCH%'`); err != nil {
		return err
	}
	if have >= want {
		return nil
	}
	start := time.Now()
	perProvider := (want + 99) / 100
	cycles := (perProvider + 999) / 1000
	for p := 0; p < 100; p++ {
		code := fmt.Sprintf("BENCH%03d", p)
		if _, err := db.ExecContext(ctx, `INSERT INTO providers (code, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, code); err != nil {
			return err
		}
		const qCycles = `
INSERT INTO cycles (id, provider_code, year, status, phase, round, started_at, completed_at)
SELECT 'review-cycle/' || $1 || '/' || y, $1, y, 'completed', 'published', 1, now() - interval '1 year', now()
FROM generate_series(2000, 2000 + $2 - 1) y
ON CONFLICT DO NOTHING`
		if _, err := db.ExecContext(ctx, qCycles, code, cycles); err != nil {
			return fmt.Errorf("adding the cycles of %s: %w", code, err)
		}
		const qTasks = `
INSERT INTO tasks (id, cycle_id, workflow_id, kind, unit_code, round, role, status, due_at, input, outcome, completed_by, completed_at, created_at)
SELECT $1 || '/' || (2000 + i / 1000) || '/evaluate/U' || (i % 1000),
       'review-cycle/' || $1 || '/' || (2000 + i / 1000), 'review-cycle/' || $1 || '/' || (2000 + i / 1000),
       'evaluate', 'U' || (i % 1000), 0, 'welfare_staff', 'done', now() - interval '300 days',
       '{}', '{"indicators": [], "findings": []}', 'bench.staff', now() - interval '310 days', now() - interval '1 year'
FROM generate_series(0, $2 - 1) i
ON CONFLICT DO NOTHING`
		if _, err := db.ExecContext(ctx, qTasks, code, perProvider); err != nil {
			return fmt.Errorf("adding the tasks of %s: %w", code, err)
		}
	}
	if _, err := db.ExecContext(ctx, `ANALYZE tasks`); err != nil {
		return err
	}
	fmt.Printf("added %d done tasks of 100 other providers in %s\n", want-have, time.Since(start).Round(time.Second))
	return nil
}
