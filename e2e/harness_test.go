package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/oho-dev/oho/dbtest"
)

// binDir holds the worker and starter binaries built for this test run.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "oho-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	build := exec.Command("go", "build", "-o", dir+"/", "./worker", "./starter")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the binaries: %v\n%s", err, out)
		return 1
	}
	binDir = dir
	if err := checkTemporal(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\nThe end-to-end tests need the Temporal dev server: run them with 'make test', which starts it.\n", err)
		return 1
	}
	return m.Run()
}

func checkTemporal() error {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("cannot reach Temporal at %q: %w", opts.HostPort, err)
	}
	c.Close()
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// env is one test's world: its own database, task queue and provider code,
// so tests never see each other's cycles on the shared dev server.
//
// The programs run as they do after 'make up': the binaries connect as the
// application role (DATABASE_URL, dbtest.AppRole), and the schema is
// migrated by 'starter migrate' as the database's owner
// (MIGRATION_DATABASE_URL, dbtest.OwnerRole). db is the administrator's
// connection, for the tests' own reads and for tampering as a DBA could.
type env struct {
	t        *testing.T
	dir      string
	vars     []string
	provider string
	db       *sqlx.DB
}

// newEnv returns a world whose database the owner has migrated.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := newUnmigratedEnv(t)
	e.ok("migrate")
	return e
}

// environ is this process's environment for the programs a test runs,
// without the payload keys a developer may have exported for the demo: a
// test that encrypts gives its programs keys of its own, and the others
// read histories without a codec.
func environ() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(name, "OHO_PAYLOAD_")
	})
}

// newUnmigratedEnv returns a world whose database is as 'make up' leaves a
// new one: owned by the owner role, and empty.
func newUnmigratedEnv(t *testing.T) *env {
	t.Helper()
	db, url := dbtest.NewEmpty(t)
	suffix := strings.ToUpper(randomHex(3))
	e := &env{
		t: t, dir: t.TempDir(), db: db, provider: "E2E" + suffix,
		vars: append(environ(),
			"DATABASE_URL="+dbtest.AppURL(t, url),
			"MIGRATION_DATABASE_URL="+dbtest.OwnerURL(t, url),
			"OHO_TASK_QUEUE=oho-e2e-"+suffix),
	}
	return e
}

// dialTemporal connects to the server the tests run against.
func dialTemporal(t *testing.T) client.Client {
	t.Helper()
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatalf("dialling Temporal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// count runs a COUNT query on the test's database.
func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Get(&n, query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// result is what a command printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// starter runs the command line as a user would.
func (e *env) starter(args ...string) result {
	e.t.Helper()
	return e.starterWith(nil, args...)
}

// starterWith runs the command line with extra environment variables, which
// win over the world's.
func (e *env) starterWith(vars []string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "starter"), args...)
	cmd.Env = append(slices.Clip(e.vars), vars...)
	// In the test's own folder, where what a command writes by default
	// (the demo's out/) stays the test's.
	cmd.Dir = e.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("running starter %v: %v", args, err)
		}
		code = exitErr.ExitCode()
	}
	return result{stdout.String(), stderr.String(), code}
}

// ok runs a command that must succeed and returns its stdout.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.starter(args...)
	if r.code != 0 {
		e.t.Fatalf("starter %s: want success, got %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// refused runs a command that must fail with the exit code, printing one line
// on stderr that contains want.
func (e *env) refused(code int, want string, args ...string) {
	e.t.Helper()
	r := e.starter(args...)
	firstLine, _, _ := strings.Cut(r.stderr, "\n")
	switch {
	case r.code != code:
		e.t.Errorf("starter %s: want exit %d, got %s", strings.Join(args, " "), code, r)
	case !strings.Contains(firstLine, want):
		e.t.Errorf("starter %s: want stderr's first line to contain %q, got %q", strings.Join(args, " "), want, firstLine)
	case strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic"):
		e.t.Errorf("starter %s: stack trace on stderr: %s", strings.Join(args, " "), r.stderr)
	}
}

// file writes v as JSON (or a string as is) into the test's folder.
func (e *env) file(name string, v any) string {
	e.t.Helper()
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// worker is a running worker process.
type worker struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

func (w *worker) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(p)
}

func (w *worker) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

// startWorker starts a worker process and waits until it polls.
func (e *env) startWorker() *worker {
	e.t.Helper()
	w := &worker{cmd: exec.Command(filepath.Join(binDir, "worker")), done: make(chan struct{})}
	w.cmd.Env = e.vars
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		e.t.Fatalf("starting the worker: %v", err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	e.t.Cleanup(func() { w.stop(syscall.SIGTERM) })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.output(), "worker started") {
		select {
		case <-w.done:
			e.t.Fatalf("the worker exited at start:\n%s", w.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the worker did not start within 30s:\n%s", w.output())
		}
	}
	return w
}

// stop sends the signal and waits for the process to end.
func (w *worker) stop(sig syscall.Signal) {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(sig)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

// countCheck is a COUNT query and the number it must give.
type countCheck struct {
	query string
	want  int
}

// checkCounts runs each COUNT query on the test's database and reports
// every one that does not give its number.
func checkCounts(t *testing.T, e *env, checks []countCheck) {
	t.Helper()
	for _, c := range checks {
		if got := e.count(c.query); got != c.want {
			t.Errorf("%s: got %d, want %d", c.query, got, c.want)
		}
	}
}

// checkAuditVerify runs 'audit verify', which must pass over every event of
// the database.
func (e *env) checkAuditVerify() {
	e.t.Helper()
	out := e.ok("audit", "verify")
	if want := fmt.Sprintf("ok %d events", e.count(`SELECT count(*) FROM audit_events`)); strings.TrimSpace(out) != want {
		e.t.Errorf("audit verify: got %q, want %q", out, want)
	}
}

// oneRoundCounts are the records of the test provider's cycle (org) run to
// a published plan in one round, with the outcomes of evaluation,
// consultation and draft(1): each task once, done, and each record and
// event once.
func oneRoundCounts() []countCheck {
	return []countCheck{
		{`SELECT count(*) FROM tasks`, 11},
		{`SELECT count(*) FROM tasks WHERE status = 'done'`, 11},
		{`SELECT count(*) FROM findings`, 6},
		{`SELECT count(*) FROM feedback_items`, 3},
		{`SELECT count(*) FROM indicators`, 3},
		{`SELECT count(*) FROM signoffs`, 3},
		{`SELECT count(*) FROM approvals`, 1},
		{`SELECT count(*) FROM plan_versions`, 1},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.opened'`, 11},
		{`SELECT count(*) FROM audit_events WHERE action = 'task.completed'`, 11},
		{`SELECT count(*) FROM audit_events WHERE action = 'plan.published'`, 1},
	}
}
