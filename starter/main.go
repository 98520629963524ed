// Command starter is OHO's command line for managers, staff and auditors:
// it imports the organisation, starts and inspects review cycles, lists and
// completes tasks, and runs a full demonstration cycle.
//
// Exit status: 0 on success, 1 when the request is refused (validation,
// permission, state) or cannot be carried out, with one line on stderr naming
// the problem, and 2 for a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage: starter COMMAND [ARGS]

  migrate                                  apply database migrations, as the role that owns the schema
                                           (MIGRATION_DATABASE_URL)
  org import FILE.json                     import or update a provider's units, people and roles
  cycle start  --provider CODE --year YYYY --as PERSON [--config FILE.json]
                                           start the provider's review cycle for the year
  cycle status --provider CODE --year YYYY [--json]
  cycle list [--json]
  cycle cancel --provider CODE --year YYYY --as PERSON --reason TEXT
  cycle restart --provider CODE --year YYYY --as PERSON --reason TEXT [--config FILE.json]
                                           start a failed or cancelled cycle again, as a new
                                           attempt (default: the ended attempt's config)
  cycle history --provider CODE --year YYYY [--json]
                                           the Web UI address of each of the cycle's workflow histories
  task list [--provider CODE] [--year YYYY] [--assignee PERSON] [--status open|done|all] [--json]
  task list --mine --as PERSON [--json]    what PERSON can act on now, soonest due first
  task show TASK_ID [--json]
  task complete TASK_ID --as PERSON --outcome FILE.json
  task claim|unclaim TASK_ID --as PERSON
  task delegate TASK_ID --to PERSON --as PERSON [--reason TEXT]
  task reassign TASK_ID --to PERSON --as PERSON --reason TEXT
  task extend TASK_ID (--due YYYY-MM-DD[THH:MM] | --by DURATION) --as PERSON --reason TEXT
  schedule set --provider CODE --month M --day D --as PERSON [--hour H] [--config FILE.json]
                                           start the provider's cycle every year on that day
                                           (hour default 6, Europe/Helsinki)
  schedule show --provider CODE [--json]
  schedule delete --provider CODE --as PERSON
  report --provider CODE --year YYYY [--format md|html] [--out FILE]
                                           the cycle's traceability report for auditors
                                           (Markdown by default; --out writes the file atomically)
  indicators trends --provider CODE [--csv|--json] [--as PERSON]
                                           the catalogue indicators per unit across the provider's
                                           cycles: value, target and whether it was met
  plan show --provider CODE [--version N] [--json]
                                           the plan in force (or version N): record, then sections
  plan diff --provider CODE --from N --to M [--json]
                                           section by section, with the changes that made M
  plan export --provider CODE [--version N] --format md|html --out FILE
                                           the welfare handbook, approvals on its first page
  plan import --provider CODE FILE.md [--add-sections] [--effective YYYY-MM-DD] [--as MANAGER] [--json]
                                           record the provider's current plan, written in Markdown,
                                           as its next version (not while a cycle runs)
  audit verify [--json]                    recompute the audit trail's hash chain: "ok N events", or the first broken event
  audit log [--provider CODE] [--year YYYY] [--actor PERSON] [--since YYYY-MM-DD] [--json|--csv]
  audit export --provider CODE --year YYYY [--out FILE]
                                           the cycle's audit events and workflow histories, as JSON Lines
  demo [--provider CODE]                   migrate (as migrate does), then the demonstration: the
                                           college's plan imported and two years' cycles
  serve [--addr HOST:PORT] [--base-url URL] [--oidc FILE.json] [--tls-cert PEM --tls-key PEM]
        [--feedback-email ADDRESS] [--trusted-proxies CIDR,…]
                                           the web pages and the HTTP API
  person invite PERSON [--as MANAGER]      mail a one-time link to set a password
  person disable PERSON --reason TEXT [--as MANAGER]
                                           no login; the person's sessions and tokens stop working
  person export PERSON [--as PERSON] [--out FILE]
                                           everything OHO holds about the person, as JSON (their
                                           right of access, GDPR article 15); --out is readable by you alone
  token revoke TOKEN_ID                    revoke anyone's API token (the operator)
  retention run [--provider CODE] [--as MANAGER] [--dry-run] [--json]
                                           delete the notices and pseudonymise the people who left
                                           (OHO_RETAIN_NOTICES, OHO_RETAIN_LEFT; every provider's for the operator)

Environment: DATABASE_URL (PostgreSQL, as a member of the application role
oho_app), MIGRATION_DATABASE_URL (migrate and demo: the role that owns the
schema; DATABASE_URL when unset, for a setup with one role), TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE and the other standard TEMPORAL_* variables; for serve,
OHO_BASE_URL (the address people reach OHO at), OHO_OIDC_FILE (the
identity providers) and OHO_TRUSTED_PROXIES (the proxies in front of it);
for retention run, OHO_RETAIN_NOTICES and OHO_RETAIN_LEFT (days, such as 400d).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr,
		logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	defer a.close()
	err := a.dispatch(ctx, args)
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "starter: %s\n\n%s", oneLine(u.Error()), commandUsage(args))
		return 2
	default:
		fmt.Fprintf(stderr, "starter: %s\n", oneLine(err.Error()))
		return 1
	}
}

// usageError is a command line that does not say a valid request.
// commandUsage is the usage of the command the arguments name ("task
// complete …": the lines of "task complete"), or of every command when they
// name none of them.
func commandUsage(args []string) string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(words) == 2 {
			break
		}
		words = append(words, a)
	}
	matches := func(line string) bool {
		fields := strings.Fields(line)
		if len(words) == 0 || len(fields) == 0 || fields[0] != words[0] {
			return false
		}
		if len(words) == 1 || len(fields) == 1 || strings.HasPrefix(fields[1], "-") || strings.ToUpper(fields[1]) == fields[1] {
			return true
		}
		for _, w := range strings.Split(fields[1], "|") {
			if w == words[1] {
				return true
			}
		}
		return false
	}
	var out []string
	lines := strings.Split(usage, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "  ") || strings.HasPrefix(lines[i], "   ") || !matches(lines[i]) {
			continue
		}
		out = append(out, lines[i])
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "   ") {
			i++
			out = append(out, lines[i])
		}
	}
	if len(out) == 0 {
		return usage
	}
	return "usage: starter\n" + strings.Join(out, "\n") + "\n\n'starter help' lists every command.\n"
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	sub := func() (string, []string, error) {
		if len(rest) == 0 {
			return "", nil, usagef("%s needs a subcommand", cmd)
		}
		return rest[0], rest[1:], nil
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usage)
		return nil
	case "migrate":
		return a.migrate(ctx, rest)
	case "serve":
		return a.serve(ctx, rest)
	case "demo":
		return a.demo(ctx, rest)
	case "report":
		return a.report(ctx, rest)
	case "org":
		s, r, err := sub()
		if err != nil {
			return err
		}
		if s == "import" {
			return a.orgImport(ctx, r)
		}
	case "cycle":
		s, r, err := sub()
		if err != nil {
			return err
		}
		switch s {
		case "start":
			return a.cycleStart(ctx, r)
		case "status":
			return a.cycleStatus(ctx, r)
		case "list":
			return a.cycleList(ctx, r)
		case "cancel":
			return a.cycleCancel(ctx, r)
		case "restart":
			return a.cycleRestart(ctx, r)
		case "history":
			return a.cycleHistory(ctx, r)
		}
	case "task":
		s, r, err := sub()
		if err != nil {
			return err
		}
		switch s {
		case "list":
			return a.taskList(ctx, r)
		case "show":
			return a.taskShow(ctx, r)
		case "complete":
			return a.taskComplete(ctx, r)
		case "claim", "unclaim", "delegate", "reassign", "extend":
			return a.taskSteer(ctx, s, r)
		}
	case "indicators":
		s, r, err := sub()
		if err != nil {
			return err
		}
		if s == "trends" {
			return a.indicatorTrends(ctx, r)
		}
	case "plan":
		s, r, err := sub()
		if err != nil {
			return err
		}
		switch s {
		case "show":
			return a.planShow(ctx, r)
		case "diff":
			return a.planDiff(ctx, r)
		case "export":
			return a.planExport(ctx, r)
		case "import":
			return a.planImport(ctx, r)
		}
	case "audit":
		s, r, err := sub()
		if err != nil {
			return err
		}
		switch s {
		case "verify":
			return a.auditVerify(ctx, r)
		case "log":
			return a.auditLog(ctx, r)
		case "export":
			return a.auditExport(ctx, r)
		}
	case "person":
		s, r, err := sub()
		if err != nil {
			return err
		}
		switch s {
		case "invite":
			return a.personInvite(ctx, r)
		case "disable":
			return a.personDisable(ctx, r)
		case "export":
			return a.personExport(ctx, r)
		}
	case "retention":
		s, r, err := sub()
		if err != nil {
			return err
		}
		if s == "run" {
			return a.retentionRun(ctx, r)
		}
	case "token":
		s, r, err := sub()
		if err != nil {
			return err
		}
		if s == "revoke" {
			return a.tokenRevoke(ctx, r)
		}
	case "schedule":
		s, r, err := sub()
		if err != nil {
			return err
		}
		switch s {
		case "set":
			return a.scheduleSet(ctx, r)
		case "show":
			return a.scheduleShow(ctx, r)
		case "delete":
			return a.scheduleDelete(ctx, r)
		}
	default:
		return usagef("unknown command %q", cmd)
	}
	return usagef("unknown subcommand %q of %s", rest[0], cmd)
}
