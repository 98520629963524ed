package review

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/oho-dev/oho/check"
)

// Role is what a person does for a unit, or for the whole provider when the
// unit is empty.
type Role string

// Roles, as in the design brief.
const (
	RoleManager      Role = "manager"
	RoleUnitHead     Role = "unit_head"
	RoleWelfareStaff Role = "welfare_staff"
	RoleStudentRep   Role = "student_rep"
	RolePlanEditor   Role = "plan_editor"
	RoleApprover     Role = "approver"
	RoleAuditor      Role = "auditor"
)

// Roles lists every role, for validation tags and help texts.
var Roles = []Role{RoleManager, RoleUnitHead, RoleWelfareStaff, RoleStudentRep, RolePlanEditor, RoleApprover, RoleAuditor}

// TaskKind is the kind of a human task.
type TaskKind string

// Task kinds, one per human step of the cycle.
const (
	KindEvaluate TaskKind = "evaluate"
	KindConsult  TaskKind = "consult"
	KindDraft    TaskKind = "draft"
	KindSignOff  TaskKind = "signoff"
	KindApprove  TaskKind = "approve"
)

// AssigneeRole is the role whose holders may complete a task of the kind;
// evaluation, consultation and sign-off tasks go to the role in the unit,
// drafts and approval to the provider-wide role.
func (k TaskKind) AssigneeRole() Role {
	switch k {
	case KindEvaluate:
		return RoleWelfareStaff
	case KindConsult:
		return RoleStudentRep
	case KindDraft:
		return RolePlanEditor
	case KindSignOff:
		return RoleUnitHead
	case KindApprove:
		return RoleApprover
	}
	return ""
}

// RequiredRoles are the roles a provider must have filled before a cycle can
// start: per unit, and provider-wide.
var (
	RequiredUnitRoles     = []Role{RoleWelfareStaff, RoleStudentRep, RoleUnitHead}
	RequiredProviderRoles = []Role{RolePlanEditor, RoleApprover}
)

// Phase is where a cycle stands.
type Phase string

// Phases of a cycle. Evaluation and student consultation run together in each
// unit's child workflow, so they share the evaluate phase.
const (
	PhaseEvaluate  Phase = "evaluate"
	PhaseUpdate    Phase = "update"
	PhaseSignOff   Phase = "signoff"
	PhaseApprove   Phase = "approve"
	PhasePublished Phase = "published"
	PhaseFailed    Phase = "failed"
	PhaseCancelled Phase = "cancelled"
)

// Cycle statuses.
const (
	CycleRunning   = "running"
	CycleCompleted = "completed"
	CycleFailed    = "failed"
	CycleCancelled = "cancelled"
)

// Task statuses.
const (
	TaskOpen       = "open"
	TaskDone       = "done"
	TaskSuperseded = "superseded"
	TaskCancelled  = "cancelled"
)

// Section is one section of the welfare plan.
type Section struct {
	Key   string `json:"key" validate:"required,code"`
	Title string `json:"title" validate:"required,max=200"`
}

// DefaultSections are the plan sections used when neither the cycle config nor
// an earlier version of the plan names them.
var DefaultSections = []Section{
	{Key: "welfare_need", Title: "Overall welfare need and services"},
	{Key: "communal", Title: "Communal welfare"},
	{Key: "individual", Title: "Individual welfare"},
	{Key: "cooperation", Title: "Cooperation with students and guardians"},
	{Key: "common_practices", Title: "Common practices across units"},
	{Key: "monitoring", Title: "Implementation and monitoring"},
}

// Duration is a time.Duration written in JSON as a Go duration string ("720h").
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "72h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string such as "720h" or "90m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	// Refusals are check.ValueError, so that check.Decode names the field.
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return check.ValueError(*d, fmt.Sprintf("%s is not a duration: write it as a string such as \"336h\" or \"90m\"", check.Quote(string(b))))
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return check.ValueError(*d, fmt.Sprintf("%s is not a duration such as \"336h\" or \"90m\"", check.Quote(s)))
	}
	if v <= 0 {
		return check.ValueError(*d, fmt.Sprintf("%s is not a duration of more than zero", check.Quote(s)))
	}
	*d = Duration(v)
	return nil
}

// PhaseDurations gives how long each kind of task is open before it is due.
type PhaseDurations struct {
	Evaluate Duration `json:"evaluate,omitempty"`
	Consult  Duration `json:"consult,omitempty"`
	Update   Duration `json:"update,omitempty"`
	SignOff  Duration `json:"signoff,omitempty"`
	Approve  Duration `json:"approve,omitempty"`
}

// For returns the duration for tasks of the kind.
func (p PhaseDurations) For(k TaskKind) time.Duration {
	switch k {
	case KindEvaluate:
		return time.Duration(p.Evaluate)
	case KindConsult:
		return time.Duration(p.Consult)
	case KindDraft:
		return time.Duration(p.Update)
	case KindSignOff:
		return time.Duration(p.SignOff)
	case KindApprove:
		return time.Duration(p.Approve)
	}
	return 0
}

// Reminders say when the workflow reminds people of a task: Before its due
// time, and Every so often once it is overdue (when it is also escalated to
// the provider's managers).
type Reminders struct {
	Before Duration `json:"before,omitempty"`
	Every  Duration `json:"every,omitempty"`
}

// Config is a cycle's configuration; every field is optional. The config a
// provider's yearly schedule keeps is its standing configuration: every cycle
// the schedule starts runs with it, so the indicator catalogue defined there
// is the one the provider's trends follow from year to year.
type Config struct {
	Phases    PhaseDurations `json:"phases"`
	Reminders Reminders      `json:"reminders"`
	MaxRounds int            `json:"max_rounds,omitempty" validate:"omitempty,min=1,max=10"`
	// Checklist is the legal content the plan must cover (DefaultChecklist
	// when empty), and ChecklistReasons lets a draft leave an item uncovered
	// with a recorded reason.
	Checklist        []ChecklistItem `json:"checklist,omitempty" validate:"max=50,dive"`
	ChecklistReasons bool            `json:"checklist_reasons,omitempty"`
	Sections         []Section       `json:"sections,omitempty" validate:"omitempty,min=1,max=30,unique=Key,dive"`
	// Indicators is the provider's indicator catalogue, which every unit's
	// evaluation reports on by code; empty, evaluations give free indicators
	// only, as before catalogues.
	Indicators Catalogue `json:"indicators,omitempty" validate:"max=100,dive"`
}

// DefaultTimeZone is the time zone of a provider whose organisation file
// names none (provider.time_zone): the zone OHO's Finnish providers are in,
// and the one every time was shown in before providers had a zone.
const DefaultTimeZone = "Europe/Helsinki"

// Defaults used where a Config leaves a field empty.
const (
	DefaultMaxRounds = 3
	day              = 24 * time.Hour
)

// DefaultPhases are the task durations used where the config gives none.
var DefaultPhases = PhaseDurations{
	Evaluate: Duration(42 * day),
	Consult:  Duration(42 * day),
	Update:   Duration(21 * day),
	SignOff:  Duration(14 * day),
	Approve:  Duration(14 * day),
}

// WithDefaults returns the config with every empty field filled. Sections stay
// empty when not given: the cycle then keeps the sections of the current plan.
func (c Config) WithDefaults() Config {
	fill := func(d *Duration, def Duration) {
		if *d == 0 {
			*d = def
		}
	}
	fill(&c.Phases.Evaluate, DefaultPhases.Evaluate)
	fill(&c.Phases.Consult, DefaultPhases.Consult)
	fill(&c.Phases.Update, DefaultPhases.Update)
	fill(&c.Phases.SignOff, DefaultPhases.SignOff)
	fill(&c.Phases.Approve, DefaultPhases.Approve)
	fill(&c.Reminders.Before, DefaultReminders.Before)
	fill(&c.Reminders.Every, DefaultReminders.Every)
	if c.MaxRounds == 0 {
		c.MaxRounds = DefaultMaxRounds
	}
	return c
}

// DefaultReminders remind three days before a task is due and every two days
// while it is overdue.
var DefaultReminders = Reminders{Before: Duration(3 * day), Every: Duration(2 * day)}

// Validate checks the config: its fields, and the catalogue's codes unique.
// Whether unit targets name units of the provider is checked where the units
// are known (Catalogue.CheckUnits).
func (c Config) Validate() error {
	if err := check.Struct(c); err != nil {
		return err
	}
	if err := checkChecklist(c.Checklist); err != nil {
		return err
	}
	return c.Indicators.Check()
}

// Unit is an organisational unit of the provider (a campus, a school).
type Unit struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// SetupCycleInput asks the SetupCycle activity to record the cycle and read
// what the workflow needs to run it.
type SetupCycleInput struct {
	CycleID  string `json:"cycle_id"`
	Provider string `json:"provider"`
	Year     int    `json:"year"`
	Config   Config `json:"config"`
	// StartedBy is who started the cycle and Via how; empty for a cycle a
	// yearly schedule started (the audit trail then says "system").
	StartedBy string `json:"started_by,omitempty"`
	Via       Via    `json:"via,omitzero"`
	// Restart says which ended attempt this one starts again, and why;
	// zero for a first attempt.
	Restart Restart `json:"restart,omitzero"`
}

// Restart is what starting a provider's year's cycle again records: the
// attempt it is, the attempt that failed or was cancelled, and the
// manager's reason.
type Restart struct {
	Attempt int    `json:"attempt"`
	Of      string `json:"of"`
	Reason  string `json:"reason"`
}

// CycleSetup is what a cycle starts from: the provider's units, the plan's
// sections, the current published version (the baseline every draft changes)
// and the changes of the previous cycle, which units rate for effectiveness.
type CycleSetup struct {
	Units []Unit `json:"units"`
	// Managers are the provider's managers: they may steer the cycle and
	// receive escalations.
	Managers        []string    `json:"managers"`
	Baseline        PlanContent `json:"baseline"`
	BaselineVersion int         `json:"baseline_version"`
	PreviousChanges []string    `json:"previous_changes"`
	// Checklist is the legal content the cycle's drafts must cover: the
	// configured one, or DefaultChecklist. Cycles set up before checklists
	// have none, and their drafts cover nothing.
	Checklist []ChecklistItem `json:"checklist,omitempty"`
	// ChecklistReasons is the configuration's leave to cover an item by
	// giving a reason instead.
	ChecklistReasons bool `json:"checklist_reasons,omitempty"`
	// Carried are the items the previous cycle deferred, which this
	// cycle's drafts must answer again.
	Carried []Item `json:"carried,omitempty"`
}

// TaskSpec describes a human task to be recorded.
type TaskSpec struct {
	ID      string `json:"id"`
	CycleID string `json:"cycle_id"`
	// WorkflowID is the workflow that waits for the task: the cycle itself, or
	// a unit's UnitReview. Clients send complete-task there.
	WorkflowID string    `json:"workflow_id"`
	Kind       TaskKind  `json:"kind"`
	Unit       string    `json:"unit"`
	Round      int       `json:"round"`
	Role       Role      `json:"role"`
	DueAt      time.Time `json:"due_at"`
	// Input is what the assignee needs to do the task, as JSON: for a sign-off
	// the draft and its hash, for a draft the items to answer.
	Input json.RawMessage `json:"input"`
}

// OpenTasksInput records tasks and moves the cycle to a phase and round, in
// one transaction.
type OpenTasksInput struct {
	CycleID string     `json:"cycle_id"`
	Phase   Phase      `json:"phase"`
	Round   int        `json:"round"`
	Tasks   []TaskSpec `json:"tasks"`
}

// OpenedTask is a recorded task and the people who may complete it.
type OpenedTask struct {
	ID         string   `json:"id"`
	Candidates []string `json:"candidates"`
}

// CompleteTaskInput records a task's outcome, in one transaction with the
// findings, feedback, changes or signatures it carries.
type CompleteTaskInput struct {
	Task    TaskSpec        `json:"task"`
	Actor   string          `json:"actor"`
	Outcome json.RawMessage `json:"outcome"`
	// Draft is the plan content a draft outcome produces; set for drafts only.
	Draft *PlanContent `json:"draft,omitempty"`
	// Via is how the actor reached OHO, for the audit trail.
	Via Via `json:"via,omitzero"`
}

// SupersedeTasksInput closes open tasks that no longer matter, such as the
// remaining sign-offs of a draft one unit has sent back.
type SupersedeTasksInput struct {
	CycleID string   `json:"cycle_id"`
	TaskIDs []string `json:"task_ids"`
	Reason  string   `json:"reason"`
}

// PublishInput publishes the approved draft as the plan's next version.
type PublishInput struct {
	CycleID       string      `json:"cycle_id"`
	Provider      string      `json:"provider"`
	Round         int         `json:"round"`
	Content       PlanContent `json:"content"`
	EffectiveFrom string      `json:"effective_from"`
	ApprovedBy    string      `json:"approved_by"`
}

// Published is the version Publish wrote.
type Published struct {
	Version int    `json:"version"`
	Hash    string `json:"hash"`
}

// FailCycleInput records that a cycle ended without a published plan.
type FailCycleInput struct {
	CycleID string `json:"cycle_id"`
	Reason  string `json:"reason"`
	// Cycle is what the cycle was started with. A cycle whose set-up was
	// refused (its provider was not ready when a yearly schedule started
	// it, say) was never recorded; with Cycle, it is recorded as started and
	// failed, so that its year shows why and can be started again.
	Cycle *SetupCycleInput `json:"cycle,omitempty"`
}

// ItemKind tells findings from student feedback.
type ItemKind string

// Item kinds.
const (
	ItemFinding  ItemKind = "finding"
	ItemFeedback ItemKind = "feedback"
)

// Item is a finding or a feedback item a draft may have to answer.
type Item struct {
	Ref      string   `json:"ref"` // "UNIT/ITEM_ID"; a carried item's is "YEAR/UNIT/ITEM_ID"
	Kind     ItemKind `json:"kind"`
	Severity string   `json:"severity,omitempty"`
	Section  string   `json:"section"`
	Text     string   `json:"text"`
	// From is the year of the cycle that found the item, for an item a
	// cycle deferred and a later one carries; DeferredIn the year of the
	// cycle that deferred it last, and Reason why.
	From       int    `json:"from,omitempty"`
	DeferredIn int    `json:"deferred_in,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// NeedsDisposition reports whether a draft must answer the item: every
// student feedback item, every major finding, and every item carried from
// an earlier cycle that deferred it.
func (i Item) NeedsDisposition() bool {
	return i.Kind == ItemFeedback || i.Severity == SeverityMajor || i.From != 0
}

// CarriedRef is the reference of an item carried from the cycle of the year
// that found it: "2026/NORTH/F1". It stays the same however many cycles
// defer it again.
func CarriedRef(year int, ref string) string { return fmt.Sprintf("%d/%s", year, ref) }

// ItemRef is the cycle-wide reference of an item of a unit.
func ItemRef(unit, id string) string { return unit + "/" + id }

// Progress is where a cycle stands: its status, phase and round, each
// unit's phase and every task. The cycle's workflow answers its status query
// with it, and the store builds the same from the records.
type Progress struct {
	Provider   string `json:"provider"`
	Year       int    `json:"year"`
	WorkflowID string `json:"workflow_id"`
	Status     string `json:"status"`
	Phase      Phase  `json:"phase"`
	Round      int    `json:"round"`
	// Attempt counts the runs of the provider's cycle for the year: 1, or
	// more once a failed or cancelled one was started again (RestartOf
	// names the one before).
	Attempt   int    `json:"attempt"`
	RestartOf string `json:"restart_of,omitempty"`
	// WaitingForWorker is true while the cycle is recorded as started but
	// no worker has set it up yet, and Workers is how many workers poll its
	// task queue then (-1 when Temporal could not be asked).
	WaitingForWorker bool           `json:"waiting_for_worker,omitempty"`
	Workers          *int           `json:"workers,omitempty"`
	TaskQueue        string         `json:"task_queue,omitempty"`
	Units            []UnitProgress `json:"units"`
	Tasks            []TaskProgress `json:"tasks"`
}

// UnitProgress is where one unit stands.
type UnitProgress struct {
	Unit  string `json:"unit"`
	Phase string `json:"phase"`
}

// TaskProgress is one task of a cycle as its Progress shows it.
type TaskProgress struct {
	ID      string    `json:"id"`
	Kind    TaskKind  `json:"kind"`
	Unit    string    `json:"unit"`
	Holder  string    `json:"holder"`
	Status  string    `json:"status"`
	DueAt   time.Time `json:"due_at"`
	Overdue bool      `json:"overdue,omitempty"`
}

// Pool names the pool a task is offered to until someone takes it: everyone
// holding the role in the unit, written "role@UNIT", or the role alone for
// provider-wide tasks.
func Pool(role Role, unit string) string {
	if unit == "" {
		return string(role)
	}
	return string(role) + "@" + unit
}

// TaskOp is an operation on the assignment or deadline of an open task.
type TaskOp string

// Task operations.
const (
	// OpClaim takes a role task: the claimer becomes its assignee.
	OpClaim TaskOp = "claim"
	// OpUnclaim gives a claimed task back to everyone holding the role.
	OpUnclaim TaskOp = "unclaim"
	// OpDelegate passes the task to a colleague holding the same role in the unit.
	OpDelegate TaskOp = "delegate"
	// OpReassign is a manager giving the task to another person.
	OpReassign TaskOp = "reassign"
	// OpExtend is a manager moving the due time.
	OpExtend TaskOp = "extend"
)

// TaskOpInput records a task operation the workflow has accepted. Seq counts
// the task's operations, so that a retried recording writes nothing twice.
type TaskOpInput struct {
	Task     TaskSpec  `json:"task"`
	Op       TaskOp    `json:"op"`
	Seq      int       `json:"seq"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason"`
	Assignee string    `json:"assignee"` // the assignee after the operation; "" is the role's pool
	DueAt    time.Time `json:"due_at"`   // the due time after the operation
	Via      Via       `json:"via,omitzero"`
}

// DeadlineEvent is what a task's timers found.
type DeadlineEvent string

// Deadline events.
const (
	// EventReminder: the task is due soon.
	EventReminder DeadlineEvent = "reminder"
	// EventOverdue: the task is past due; it is escalated to the managers.
	EventOverdue DeadlineEvent = "overdue"
	// EventOverdueReminder: the task is still overdue; reminded and escalated again.
	EventOverdueReminder DeadlineEvent = "overdue_reminder"
)

// DeadlineInput records a deadline event of a task and queues its notices:
// to the assignee (or, for a role task, everyone holding the role) and, once
// overdue, to the provider's managers. Seq counts the task's deadline events.
type DeadlineInput struct {
	Task     TaskSpec      `json:"task"`
	Event    DeadlineEvent `json:"event"`
	Seq      int           `json:"seq"`
	Assignee string        `json:"assignee"`
}

// CancelCycleInput records that a manager cancelled a cycle: open tasks close
// as cancelled; nothing else is lost.
type CancelCycleInput struct {
	CycleID string `json:"cycle_id"`
	Actor   string `json:"actor"`
	Reason  string `json:"reason"`
	Via     Via    `json:"via,omitzero"`
}
