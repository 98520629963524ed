// Package authz holds OHO's authorization matrix: who may do what to a cycle
// and its tasks. Every front end and the workflows' own Update validators ask
// Check, so the rules live in this one place; the README's table is this
// file in words.
//
// People belong to one provider. Callers pass the actor's grants in the
// provider the subject belongs to — none for a person of another provider —
// so a manager of one provider has no power over another's cycles. The
// operator, who runs OHO's command line on the server with its database and
// Temporal credentials, holds the Operator grant: it reads and administers
// every provider but does no one's work; acting for a person, the command
// line passes that person's grants instead.
package authz

import (
	"fmt"
	"slices"
)

// Roles this package gives powers of their own. Roles are plain strings here
// (review.Role values) so that every layer, the workflows included, can use
// this package.
const (
	// RoleManager steers the provider's cycles.
	RoleManager = "manager"
	// RoleAuditor reads everything of the provider, its audit trail included.
	RoleAuditor = "auditor"
	// RoleStudentRep sees only its own unit's tasks and the published plan.
	RoleStudentRep = "student_rep"
	// RoleOperator is no role people hold in a provider but the grant of
	// the operator at the server's command line (see Operator).
	RoleOperator = "operator"
)

// Operator is the grant of the operator acting as themselves, not for a
// person.
var Operator = Grant{Role: RoleOperator}

// Op is an operation on a cycle or one of its tasks.
type Op string

// Operations.
const (
	OpStart    Op = "start"    // start a cycle or set its yearly schedule
	OpCancel   Op = "cancel"   // cancel a running cycle
	OpReassign Op = "reassign" // give a task to another person
	OpExtend   Op = "extend"   // move a task's due time
	OpClaim    Op = "claim"    // take a task offered to a role
	OpUnclaim  Op = "unclaim"  // give a claimed task back to the role
	OpDelegate Op = "delegate" // pass a task to a colleague in the same role
	OpComplete Op = "complete" // complete a task with its outcome
	// OpRead reads the provider's cycles (zero Subject) or one task: its
	// input, outcome and history.
	OpRead Op = "read"
	// OpReadPlan reads the published plan, its versions and their diffs.
	OpReadPlan Op = "read_plan"
	// OpReport reads a cycle's traceability report.
	OpReport Op = "report"
	// OpAudit reads the audit trail and the workflow histories.
	OpAudit Op = "audit"
	// OpAdminister imports the organisation and invites or disables people.
	OpAdminister Op = "administer"
	// OpExportPerson reads everything OHO holds about a person (their
	// right of access, GDPR article 15): the person themselves (Subject's
	// Person), and the auditors and managers of their provider. With no
	// Person in the subject (a list of the provider's people to choose
	// from) only the auditors and managers may.
	OpExportPerson Op = "export"
)

// Ops lists every operation, in the order of the README's table.
var Ops = []Op{OpStart, OpCancel, OpReassign, OpExtend, OpClaim, OpUnclaim, OpDelegate, OpComplete,
	OpRead, OpReadPlan, OpReport, OpAudit, OpAdminister, OpExportPerson}

// Grant is a role a person holds, in a unit or provider-wide (Unit "").
type Grant struct {
	Role string `json:"role"`
	Unit string `json:"unit"`
}

// Subject is what an operation acts on: the cycle (zero Subject), or a task
// with the role it is offered to in its unit and its current assignee (""
// while it is offered to everyone holding the role).
type Subject struct {
	TaskID   string
	Role     string
	Unit     string
	Assignee string
	// On names what a subject other than a task is, for refusals ("the plan
	// of DEMO"); empty means the cycle.
	On string
	// Person is the person whose data the subject is, for OpExportPerson.
	Person string
}

func (s Subject) task() bool { return s.TaskID != "" }

func (s Subject) describe() string {
	if s.task() {
		return "task " + s.TaskID
	}
	if s.On != "" {
		return s.On
	}
	return "the cycle"
}

// Error is a refusal: who was refused what, and why.
type Error struct {
	Actor string
	Op    Op
	On    string
	Why   string
}

func (e *Error) Error() string {
	who := fmt.Sprintf("%q", e.Actor)
	if e.Actor == "" {
		who = "a person with no ID"
	}
	return fmt.Sprintf("%s may not %s %s: %s", who, e.Op, e.On, e.Why)
}

// Check returns nil when the actor, holding grants in the subject's
// provider, may perform op on subject, and an *Error saying why not
// otherwise.
func Check(actor string, grants []Grant, op Op, subject Subject) error {
	refuse := func(why string) error { return &Error{Actor: actor, Op: op, On: subject.describe(), Why: why} }
	holds := func(role, unit string) bool {
		return slices.Contains(grants, Grant{Role: role, Unit: unit})
	}
	manager := holds(RoleManager, "")
	operator := holds(RoleOperator, "")
	// Staff are the provider's people other than students' representatives,
	// who see only their own unit's work.
	staff := slices.ContainsFunc(grants, func(g Grant) bool { return g.Role != RoleStudentRep && g.Role != RoleOperator })
	role := subject.Role
	roleHolder := subject.task() && holds(role, subject.Unit)
	assignee := subject.task() && subject.Assignee != "" && subject.Assignee == actor
	offered := subject.task() && subject.Assignee == ""

	switch op {
	case OpStart, OpCancel, OpReassign, OpExtend:
		if manager {
			return nil
		}
		return refuse("only the provider's managers may")
	case OpClaim:
		switch {
		case !roleHolder:
			return refuse(fmt.Sprintf("it is offered to %s, a role they do not hold", where(role, subject.Unit)))
		case !offered:
			return refuse(fmt.Sprintf("it is already assigned to %s", subject.Assignee))
		}
		return nil
	case OpUnclaim:
		if assignee || (manager && !offered) {
			return nil
		}
		if offered {
			return refuse("it is not claimed")
		}
		return refuse(fmt.Sprintf("it is assigned to %s; only they or a manager may give it back", subject.Assignee))
	case OpDelegate, OpComplete:
		switch {
		case assignee:
			return nil
		case offered && roleHolder:
			return nil
		case offered:
			return refuse(fmt.Sprintf("it is assigned to %s", where(role, subject.Unit)))
		}
		return refuse(fmt.Sprintf("it is assigned to %s", subject.Assignee))
	case OpRead:
		switch {
		case operator, staff, assignee:
			return nil
		case subject.task() && subject.Unit != "" && holds(RoleStudentRep, subject.Unit):
			return nil
		case len(grants) == 0:
			return refuse("only people of the provider may")
		case subject.task():
			return refuse("students' representatives see only their own unit's tasks")
		}
		return refuse("students' representatives see their unit's tasks and the published plan, not the whole cycle")
	case OpReadPlan:
		if operator || len(grants) > 0 {
			return nil
		}
		return refuse("only people of the provider may")
	case OpReport:
		if operator || staff {
			return nil
		}
		if len(grants) == 0 {
			return refuse("only people of the provider may")
		}
		return refuse("the report is for the provider's staff and auditors")
	case OpAudit:
		if operator || manager || holds(RoleAuditor, "") {
			return nil
		}
		return refuse("only the provider's auditors and managers may")
	case OpAdminister:
		if operator || manager {
			return nil
		}
		return refuse("only the provider's managers may")
	case OpExportPerson:
		if operator || manager || holds(RoleAuditor, "") || (subject.Person != "" && subject.Person == actor) {
			return nil
		}
		if subject.Person == "" {
			return refuse("only the provider's auditors and managers may")
		}
		return refuse("only the person themselves and the auditors and managers of their provider may")
	}
	return refuse("there is no such operation")
}

func where(role, unit string) string {
	if unit == "" {
		return "the provider's " + role
	}
	return "the " + role + " of unit " + unit
}
