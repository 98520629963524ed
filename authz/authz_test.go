package authz_test

import (
	"strings"
	"testing"

	"github.com/oho-dev/oho/authz"
)

// matrix is the README's authorization table: a row per role, a column per
// operation; "yes" allowed, "-" refused. Each person holds the one role, in
// unit A for unit roles; the operator holds the operator grant. Task
// operations act on a task of unit A offered to the role named in the
// column; reassign, extend, claim and delegate act on a task offered to the
// row's own role, unclaim on a task the row's person claimed (for managers,
// auditors and the operator: that someone else claimed). "read cycle" reads
// the provider's cycles; "read task" a task of unit A (the row's own unit),
// "read other" a task of unit B offered to the row's role. "export self"
// exports the data of the row's own person, "export other" another
// person's of the provider.
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

// taskRole is the role each kind of task is offered to, and providerWide
// the roles held for the whole provider rather than a unit.
var (
	taskRole     = map[string]string{"evaluate": "welfare_staff", "consult": "student_rep", "draft": "plan_editor", "signoff": "unit_head", "approve": "approver"}
	providerWide = map[string]bool{"manager": true, "plan_editor": true, "approver": true, "auditor": true, "operator": true}
	// watchers hold no task role of their own: their task columns act on a
	// welfare staff task.
	watchers = map[string]bool{"manager": true, "auditor": true, "operator": true}
)

func unitOf(role string) string {
	if providerWide[role] {
		return ""
	}
	return "A"
}

func TestMatrix(t *testing.T) {
	for role, row := range matrix {
		cells := strings.Fields(row)
		if len(cells) != len(columns) {
			t.Fatalf("row %s has %d cells, want %d", role, len(cells), len(columns))
		}
		grants := []authz.Grant{{Role: role, Unit: unitOf(role)}}
		own := role
		if watchers[role] {
			own = "welfare_staff"
		}
		for i, col := range columns {
			op, kind, _ := strings.Cut(col, " ")
			var subject authz.Subject
			switch {
			case col == "export self":
				op, subject = "export", authz.Subject{On: "the personal data of p", Person: "p"}
			case col == "export other":
				op, subject = "export", authz.Subject{On: "the personal data of q", Person: "q"}
			case col == "read_cycle":
				op = "read"
			case col == "read_task":
				op, subject = "read", authz.Subject{TaskID: "P/2026/task", Role: own, Unit: unitOf(own)}
			case col == "read_other":
				op, subject = "read", authz.Subject{TaskID: "P/2026/task/B", Role: own, Unit: "B"}
			case kind != "":
				r := taskRole[kind]
				subject = authz.Subject{TaskID: "P/2026/" + kind, Role: r, Unit: unitOf(r)}
			case op == "reassign" || op == "extend" || op == "claim" || op == "delegate":
				subject = authz.Subject{TaskID: "P/2026/task", Role: own, Unit: unitOf(own)}
			case op == "unclaim":
				// People give back what they claimed; managers whatever was
				// claimed (here: by someone else).
				claimer := "p"
				if watchers[role] {
					claimer = "someone.else"
				}
				subject = authz.Subject{TaskID: "P/2026/task", Role: role, Unit: unitOf(role), Assignee: claimer}
			}
			err := authz.Check("p", grants, authz.Op(op), subject)
			if got, want := err == nil, cells[i] == "yes"; got != want {
				t.Errorf("%s × %s: got allowed=%v (%v), want %v", role, col, got, err, want)
			}
		}
	}
}

func TestAssignmentInForce(t *testing.T) {
	staff := []authz.Grant{{Role: "welfare_staff", Unit: "A"}}
	other := []authz.Grant{{Role: "welfare_staff", Unit: "B"}}
	manager := []authz.Grant{{Role: "manager"}}
	offered := authz.Subject{TaskID: "T", Role: "welfare_staff", Unit: "A"}
	claimed := offered
	claimed.Assignee = "anna"
	for _, c := range []struct {
		name    string
		actor   string
		grants  []authz.Grant
		op      authz.Op
		subject authz.Subject
		want    string // "" allowed, else a part of the refusal
	}{
		{"role holder completes an offered task", "anna", staff, authz.OpComplete, offered, ""},
		{"another unit's staff may not", "bert", other, authz.OpComplete, offered, `"bert" may not complete task T: it is assigned to the welfare_staff of unit A`},
		{"the claimer completes", "anna", staff, authz.OpComplete, claimed, ""},
		{"a colleague may not complete a claimed task", "carl", staff, authz.OpComplete, claimed, "it is assigned to anna"},
		{"a reassigned person without the role completes", "anna", nil, authz.OpComplete, claimed, ""},
		{"claiming a claimed task", "carl", staff, authz.OpClaim, claimed, "it is already assigned to anna"},
		{"the claimer unclaims", "anna", staff, authz.OpUnclaim, claimed, ""},
		{"a manager unclaims", "mia", manager, authz.OpUnclaim, claimed, ""},
		{"unclaiming an offered task", "anna", staff, authz.OpUnclaim, offered, "it is not claimed"},
		{"the assignee delegates", "anna", staff, authz.OpDelegate, claimed, ""},
		{"a colleague may not delegate someone's task", "carl", staff, authz.OpDelegate, claimed, "it is assigned to anna"},
		{"another provider's manager holds no grants here", "mia", nil, authz.OpCancel, authz.Subject{}, `"mia" may not cancel the cycle: only the provider's managers may`},
		{"a unit manager is not the provider's manager", "mia", []authz.Grant{{Role: "manager", Unit: "A"}}, authz.OpReassign, offered, "only the provider's managers may"},
		{"no ID", "", staff, authz.OpStart, authz.Subject{}, "a person with no ID may not start the cycle"},
		{"people of another provider read nothing", "x", nil, authz.OpRead, authz.Subject{}, "only people of the provider may"},
		{"nor the plan", "x", nil, authz.OpReadPlan, authz.Subject{On: "the plan of P"}, `"x" may not read_plan the plan of P: only people of the provider may`},
		{"a student rep reads the cycle", "rep", []authz.Grant{{Role: "student_rep", Unit: "A"}}, authz.OpRead, authz.Subject{}, "not the whole cycle"},
		{"a student rep reads a provider-wide task", "rep", []authz.Grant{{Role: "student_rep", Unit: "A"}}, authz.OpRead, authz.Subject{TaskID: "P/2026/draft/r1", Role: "plan_editor"}, "only their own unit's tasks"},
		{"a student rep reads a task reassigned to them", "rep", []authz.Grant{{Role: "student_rep", Unit: "A"}}, authz.OpRead, authz.Subject{TaskID: "T", Role: "welfare_staff", Unit: "B", Assignee: "rep"}, ""},
		{"a unit auditor is not the provider's auditor", "aud", []authz.Grant{{Role: "auditor", Unit: "A"}}, authz.OpAudit, authz.Subject{}, "only the provider's auditors and managers may"},
		{"the operator does no one's work", "operator", []authz.Grant{authz.Operator}, authz.OpComplete, authz.Subject{TaskID: "T", Role: "welfare_staff", Unit: "A"}, "it is assigned to the welfare_staff of unit A"},
		{"an unknown operation", "mia", manager, authz.Op("erase"), authz.Subject{}, "there is no such operation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := authz.Check(c.actor, c.grants, c.op, c.subject)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("got %v, want allowed", err)
			case c.want != "" && err == nil:
				t.Errorf("allowed, want refusal %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("got %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestExportPerson: a person's data goes to them and to their provider's
// auditors and managers; no one else, not a colleague, not an auditor of one
// unit only, not anyone of another provider (who holds no grants here).
func TestExportPerson(t *testing.T) {
	of := func(person string) authz.Subject {
		return authz.Subject{On: "the personal data of " + person, Person: person}
	}
	list := authz.Subject{On: "the people of P"}
	for _, c := range []struct {
		name    string
		actor   string
		grants  []authz.Grant
		subject authz.Subject
		want    string // "" allowed, else the whole refusal
	}{
		{"the person themselves", "anna", []authz.Grant{{Role: "welfare_staff", Unit: "A"}}, of("anna"), ""},
		{"a person with no roles left, themselves", "anna", nil, of("anna"), ""},
		{"a colleague", "bert", []authz.Grant{{Role: "welfare_staff", Unit: "A"}}, of("anna"),
			`"bert" may not export the personal data of anna: only the person themselves and the auditors and managers of their provider may`},
		{"an auditor of one unit", "aud", []authz.Grant{{Role: "auditor", Unit: "A"}}, of("anna"),
			`"aud" may not export the personal data of anna: only the person themselves and the auditors and managers of their provider may`},
		{"another provider's manager", "mia", nil, of("anna"),
			`"mia" may not export the personal data of anna: only the person themselves and the auditors and managers of their provider may`},
		{"the provider's auditor", "aud", []authz.Grant{{Role: "auditor"}}, of("anna"), ""},
		{"the provider's manager", "mia", []authz.Grant{{Role: "manager"}}, of("anna"), ""},
		{"the operator", "operator", []authz.Grant{authz.Operator}, of("anna"), ""},
		{"staff listing the people", "anna", []authz.Grant{{Role: "welfare_staff", Unit: "A"}}, list,
			`"anna" may not export the people of P: only the provider's auditors and managers may`},
		{"the auditor listing the people", "aud", []authz.Grant{{Role: "auditor"}}, list, ""},
	} {
		err := authz.Check(c.actor, c.grants, authz.OpExportPerson, c.subject)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
