package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/oho-dev/oho/dbtest"
	"github.com/oho-dev/oho/review"
	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

// errReached is what the service's Temporal connection answers in these
// tests: a request that gets to Temporal has passed every check before it,
// authorization included.
var errReached = errors.New("reached Temporal")

// fixture is a provider ACME (dbtest.Org) with two running cycles: in 2025
// every kind of task is open and offered to its role, in units NORTH and
// SOUTH; in 2024 each of them is claimed by the fixture person of its role
// (SOUTH's by SOUTH's people). In both, round 1's draft is done, so that its
// sign-offs and approval can be open, and the open draft is round 2's.
// Provider BETA has the same people under its own IDs.
type fixture struct {
	t   *testing.T
	svc *service.Service
	st  *store.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, _ := dbtest.New(t)
	st := store.New(db)
	ctx := context.Background()
	for _, p := range []string{"ACME", "BETA"} {
		if _, err := st.ImportOrg(ctx, store.ActorOperator, dbtest.Org(p)); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{t: t, st: st, svc: service.New(service.Config{Store: st,
		Temporal: func(context.Context) (client.Client, error) { return nil, errReached }})}
	f.cycle(2025, false)
	f.cycle(2024, true)
	return f
}

var kinds = []review.TaskKind{review.KindEvaluate, review.KindConsult, review.KindDraft, review.KindSignOff, review.KindApprove}

// cycle records the cycle of the year with a task of every kind open, in
// both units where the kind is a unit's; claimed says whether each is
// claimed by the fixture person of its role (SOUTH's by SOUTH's people).
func (f *fixture) cycle(year int, claimed bool) {
	f.t.Helper()
	ctx := context.Background()
	id := review.CycleID("ACME", year)
	if _, err := f.st.SetupCycle(ctx, review.SetupCycleInput{CycleID: id, Provider: "ACME", Year: year, Config: review.Config{}.WithDefaults()}); err != nil {
		f.t.Fatal(err)
	}
	spec := func(k review.TaskKind, round int, unit string) review.TaskSpec {
		return review.TaskSpec{ID: review.TaskID("ACME", year, k, round, unit), CycleID: id, WorkflowID: id,
			Kind: k, Unit: unit, Round: round, Role: k.AssigneeRole(), DueAt: time.Now().Add(time.Hour), Input: json.RawMessage(`{}`)}
	}
	open := func(specs ...review.TaskSpec) {
		if _, err := f.st.OpenTasks(ctx, review.OpenTasksInput{CycleID: id, Phase: review.PhaseEvaluate, Round: 1, Tasks: specs}); err != nil {
			f.t.Fatal(err)
		}
	}
	draft1 := spec(review.KindDraft, 1, "")
	open(draft1)
	content := review.DefaultSections
	plan := review.PlanContent{}.Reshape(content)
	if err := f.st.CompleteTask(ctx, review.CompleteTaskInput{Task: draft1, Actor: "acme.editor",
		Outcome: json.RawMessage(`{"changes":[],"dispositions":[]}`), Draft: &plan}); err != nil {
		f.t.Fatal(err)
	}
	var specs []review.TaskSpec
	for _, k := range kinds {
		switch k {
		case review.KindDraft:
			specs = append(specs, spec(k, 2, ""))
		case review.KindApprove:
			specs = append(specs, spec(k, 1, ""))
		default:
			specs = append(specs, spec(k, 1, "NORTH"), spec(k, 1, "SOUTH"))
		}
	}
	open(specs...)
	if !claimed {
		return
	}
	for _, spec := range specs {
		person := holderOf(spec.Kind, spec.Unit)
		op := review.TaskOpInput{Task: spec, Op: review.OpClaim, Seq: 1, Actor: person, Assignee: person, DueAt: spec.DueAt}
		if err := f.st.RecordTaskOp(ctx, op); err != nil {
			f.t.Fatal(err)
		}
	}
}

// holderOf is the fixture person of ACME holding the role of a task kind in
// the unit.
func holderOf(k review.TaskKind, unit string) string {
	u := strings.ToLower(unit)
	switch k {
	case review.KindEvaluate:
		return "acme.nurse." + u
	case review.KindConsult:
		return "acme.rep." + u
	case review.KindSignOff:
		return "acme.head." + u
	case review.KindDraft:
		return "acme.editor"
	}
	return "acme.approver"
}

// rows are the roles of the authorization matrix and the person of ACME
// holding each; roleKind is the kind of task each role does (welfare staff's
// for those who do none).
var (
	rows     = []string{"manager", "unit_head", "welfare_staff", "student_rep", "plan_editor", "approver", "auditor", "operator"}
	personOf = map[string]string{"manager": "acme.manager", "unit_head": "acme.head.north", "welfare_staff": "acme.nurse.north",
		"student_rep": "acme.rep.north", "plan_editor": "acme.editor", "approver": "acme.approver", "auditor": "acme.auditor"}
	roleKind = map[string]review.TaskKind{"unit_head": review.KindSignOff, "welfare_staff": review.KindEvaluate,
		"student_rep": review.KindConsult, "plan_editor": review.KindDraft, "approver": review.KindApprove}
)

// matrix is the README's authorization table, as in authz's own test, here
// exercised through the service against the database: every use case of a
// column, for the person of every row. "yes" means the request passed
// authorization (it was answered, or it reached Temporal, or it found
// nothing to show); "-" that it was refused as forbidden.
var columns = []string{"start", "cancel", "reassign", "extend", "claim", "unclaim", "delegate",
	"complete evaluate", "complete consult", "complete draft", "complete signoff", "complete approve",
	"read_cycle", "read_task", "read_other", "read_plan", "report", "audit", "administer", "export self", "export other"}

var matrix = map[string]string{
	//              start cancel reass extend claim unclm deleg  eval cons draft sign appr  cycle task other plan report audit admin self other
	"manager":       "yes  yes    yes   yes    -     yes   -      -    -    -     -    -     yes   yes  yes   yes  yes    yes   yes   yes  yes",
	"unit_head":     "-    -      -     -      yes   yes   yes    -    -    -     yes  -     yes   yes  yes   yes  yes    -     -     yes  -",
	"welfare_staff": "-    -      -     -      yes   yes   yes    yes  -    -     -    -     yes   yes  yes   yes  yes    -     -     yes  -",
	"student_rep":   "-    -      -     -      yes   yes   yes    -    yes  -     -    -     -     yes  -     yes  -      -     -     yes  -",
	"plan_editor":   "-    -      -     -      yes   yes   yes    -    -    yes   -    -     yes   yes  yes   yes  yes    -     -     yes  -",
	"approver":      "-    -      -     -      yes   yes   yes    -    -    -     -    yes   yes   yes  yes   yes  yes    -     -     yes  -",
	"auditor":       "-    -      -     -      -     -     -      -    -    -     -    -     yes   yes  yes   yes  yes    yes   -     yes  yes",
	"operator":      "-    -      -     -      -     -     -      -    -    -     -    -     yes   yes  yes   yes  yes    yes   yes   yes  yes",
}

// outcomes are valid outcomes of each kind, as far as the service checks
// them before the workflow.
var outcomes = map[review.TaskKind]string{
	review.KindEvaluate: `{"findings":[{"id":"F1","section":"communal","severity":"minor","text":"Seen."}]}`,
	review.KindConsult:  `{"method":"council","participants":12,"held_on":"2025-03-01","feedback":[]}`,
	review.KindDraft:    `{"changes":[],"dispositions":[]}`,
	review.KindSignOff:  `{"decision":"approve","version_hash":"` + strings.Repeat("a", 64) + `"}`,
	review.KindApprove:  `{"decision":"approve","effective_from":"2025-08-01"}`,
}

// do runs the use case of a column as the actor.
func (f *fixture) do(a service.Actor, role, col string) error {
	ctx := context.Background()
	own := roleKind[role]
	if own == "" {
		own = review.KindEvaluate
	}
	// id is the ID of the task of the kind in the year's cycle (see
	// fixture).
	id := func(year int, k review.TaskKind, unit string) string {
		switch {
		case k == review.KindDraft:
			return review.TaskID("ACME", year, k, 2, "")
		case k == review.KindApprove:
			return review.TaskID("ACME", year, k, 1, "")
		case unit == "":
			unit = "NORTH"
		}
		return review.TaskID("ACME", year, k, 1, unit)
	}
	offered := func(k review.TaskKind, unit string) string { return id(2025, k, unit) }
	claimed := id(2024, own, "NORTH")
	if role == "manager" || role == "auditor" || role == "operator" {
		// A task someone else claimed.
		claimed = review.TaskID("ACME", 2024, review.KindEvaluate, 1, "SOUTH")
	}
	var err error
	switch kind, ok := strings.CutPrefix(col, "complete "); {
	case ok:
		id := offered(review.TaskKind(kind), "NORTH")
		_, err = f.svc.CompleteTask(ctx, a, id, json.RawMessage(outcomes[review.TaskKind(kind)]))
	case col == "start":
		_, err = f.svc.StartCycle(ctx, a, service.StartCycle{Provider: "ACME", Year: 2026})
	case col == "cancel":
		_, err = f.svc.CancelCycle(ctx, a, "ACME", 2025, "Testing")
	case col == "reassign":
		_, err = f.svc.ChangeTask(ctx, a, service.ChangeTask{TaskID: offered(own, ""), Op: review.OpReassign, To: "acme.nurse.south", Reason: "Away"})
	case col == "extend":
		_, err = f.svc.ChangeTask(ctx, a, service.ChangeTask{TaskID: offered(own, ""), Op: review.OpExtend, By: time.Hour, Reason: "Late data"})
	case col == "claim":
		_, err = f.svc.ChangeTask(ctx, a, service.ChangeTask{TaskID: offered(own, ""), Op: review.OpClaim})
	case col == "unclaim":
		_, err = f.svc.ChangeTask(ctx, a, service.ChangeTask{TaskID: claimed, Op: review.OpUnclaim})
	case col == "delegate":
		_, err = f.svc.ChangeTask(ctx, a, service.ChangeTask{TaskID: offered(own, ""), Op: review.OpDelegate, To: "acme.manager"})
	case col == "read_cycle":
		_, err = f.svc.CycleProgress(ctx, a, "ACME", 2025)
	case col == "read_task":
		_, err = f.svc.Task(ctx, a, offered(own, "NORTH"))
	case col == "read_other":
		_, err = f.svc.Task(ctx, a, offered(review.KindEvaluate, "SOUTH"))
	case col == "read_plan":
		_, err = f.svc.Plan(ctx, a, "ACME", 0)
	case col == "report":
		_, err = f.svc.Report(ctx, a, "ACME", 2025)
	case col == "audit":
		_, err = f.svc.AuditLog(ctx, a, service.AuditFilter{Provider: "ACME"})
	case col == "administer":
		_, err = f.svc.ImportOrg(ctx, a, dbtest.Org("ACME"))
		// A retention run (dry, to change nothing) is administering too.
		_, rerr := f.svc.RunRetention(ctx, a, "ACME", service.Retention{Notices: 400 * 24 * time.Hour, Left: 730 * 24 * time.Hour}, true)
		if passed(rerr) != passed(err) {
			f.t.Errorf("%s: a retention run gives %v, importing the organisation %v; both are administer", role, rerr, err)
		}
	case col == "export self":
		// The operator has no data of their own: they export a person's.
		me := personOf[role]
		if role == "operator" {
			me = "acme.nurse.south"
		}
		_, err = f.svc.ExportPerson(ctx, a, me)
	case col == "export other":
		_, err = f.svc.ExportPerson(ctx, a, "acme.nurse.south")
	default:
		f.t.Fatalf("no use case for column %q", col)
	}
	return err
}

// passed reports whether err shows that the request passed authorization:
// no error, the request reached Temporal, or nothing was found to show (the
// fixture publishes no plan).
func passed(err error) bool {
	return err == nil || errors.Is(err, errReached) || (errors.Is(err, service.ErrNotFound) && strings.Contains(err.Error(), "no published plan"))
}

func TestMatrixThroughService(t *testing.T) {
	f := newFixture(t)
	via := review.Via{Channel: review.ChannelCLI, Ref: "test"}
	for _, role := range rows {
		cells := strings.Fields(matrix[role])
		if len(cells) != len(columns) {
			t.Fatalf("row %s has %d cells, want %d", role, len(cells), len(columns))
		}
		a := service.Operator(via)
		if role != "operator" {
			var err error
			if a, err = f.svc.Act(context.Background(), personOf[role], via); err != nil {
				t.Fatal(err)
			}
		}
		for i, col := range columns {
			err := f.do(a, role, col)
			switch want := cells[i] == "yes"; {
			case want && !passed(err):
				t.Errorf("%s × %s: got %v, want it allowed", role, col, err)
			case !want && !errors.Is(err, service.ErrForbidden):
				t.Errorf("%s × %s: got %v, want it forbidden", role, col, err)
			}
		}
	}
}

// TestOtherProviderSeesNothing checks that the people of one provider, its
// manager and auditor included, are refused every use case of another.
func TestOtherProviderSeesNothing(t *testing.T) {
	f := newFixture(t)
	via := review.Via{Channel: review.ChannelAPI, Ref: "tok_test"}
	for _, person := range []string{"beta.manager", "beta.auditor", "beta.nurse.north"} {
		a, err := f.svc.Act(context.Background(), person, via)
		if err != nil {
			t.Fatal(err)
		}
		for _, col := range columns {
			if err := f.do(a, "manager", col); !errors.Is(err, service.ErrForbidden) {
				t.Errorf("%s × %s of ACME: got %v, want it forbidden", person, col, err)
			}
		}
		// Lists show nothing of ACME either.
		cycles, err := f.svc.Cycles(context.Background(), a)
		if err != nil || len(cycles) != 0 {
			t.Errorf("%s lists cycles %v (%v), want none", person, cycles, err)
		}
		if _, err := f.svc.Tasks(context.Background(), a, store.TaskFilter{Provider: "ACME"}); !errors.Is(err, service.ErrForbidden) {
			t.Errorf("%s lists ACME's tasks: got %v, want it forbidden", person, err)
		}
	}
}

// TestStudentRepSeesOwnUnit checks the list a student representative gets:
// their unit's tasks only.
func TestStudentRepSeesOwnUnit(t *testing.T) {
	f := newFixture(t)
	a, err := f.svc.Act(context.Background(), "acme.rep.north", review.Via{Channel: review.ChannelWeb, Ref: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := f.svc.Tasks(context.Background(), a, store.TaskFilter{Year: 2025})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, task := range tasks {
		got = append(got, task.ID)
	}
	slices.Sort(got)
	want := []string{"ACME/2025/consult/NORTH", "ACME/2025/evaluate/NORTH", "ACME/2025/signoff/r1/NORTH"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the student rep of NORTH lists %v, want %v", got, want)
	}
}
