package workflows

import (
	"encoding/json"
	"fmt"

	"github.com/oho-dev/oho/review"
	"go.temporal.io/sdk/workflow"
)

// UnitReview is the child workflow of one unit: its evaluation by welfare
// staff and its student consultation by the student representatives, in
// parallel. It returns the findings and feedback items the draft must answer.
// Keeping per-unit work here keeps the parent's history small for providers
// with many units.
func UnitReview(ctx workflow.Context, in UnitInput) (UnitResult, error) {
	u := &unitReview{in: in}
	if err := u.setup(ctx); err != nil {
		return UnitResult{}, err
	}
	return u.run(ctx)
}

type unitReview struct {
	in    UnitInput
	id    string
	board *board
	keys  []string
	// catalogue is the indicator catalogue with this unit's targets.
	catalogue review.Catalogue
	evaluate  *task
	consult   *task
}

func (u *unitReview) setup(ctx workflow.Context) error {
	b, err := newBoard(ctx, u.in.Reminders)
	if err != nil {
		return err
	}
	b.managers = u.in.Managers
	u.board = b
	u.id = workflow.GetInfo(ctx).WorkflowExecution.ID
	u.keys = make([]string, len(u.in.Sections))
	for i, s := range u.in.Sections {
		u.keys[i] = s.Key
	}
	u.catalogue = u.in.Indicators.ForUnit(u.in.Unit)
	return workflow.SetQueryHandler(ctx, QueryStatus, u.status)
}

func (u *unitReview) run(ctx workflow.Context) (UnitResult, error) {
	in := u.in
	var err error
	u.evaluate, err = newTask(ctx, in.CycleID, review.CycleRef{Provider: in.Provider, Year: in.Year, Attempt: in.Attempt}, review.KindEvaluate, 0, in.Unit, in.Phases,
		review.EvaluateInput{Unit: in.Unit, Sections: in.Sections, PreviousChanges: in.PreviousChanges, Annex: review.AnnexKey(in.Unit), Indicators: u.catalogue})
	if err != nil {
		return UnitResult{}, err
	}
	u.consult, err = newTask(ctx, in.CycleID, review.CycleRef{Provider: in.Provider, Year: in.Year, Attempt: in.Attempt}, review.KindConsult, 0, in.Unit, in.Phases,
		review.ConsultInput{Unit: in.Unit, Sections: in.Sections, Methods: []string{"council", "survey", "workshop", "interview"}, Annex: review.AnnexKey(in.Unit)})
	if err != nil {
		return UnitResult{}, err
	}
	u.evaluate.check = u.checkEvaluation
	u.consult.check = u.checkConsultation

	tasks := []*task{u.evaluate, u.consult}
	if err := u.board.open(ctx, review.PhaseEvaluate, 0, tasks); err != nil {
		return UnitResult{}, err
	}
	if err := u.board.wait(ctx, tasks, nil); err != nil {
		return UnitResult{}, err
	}
	return u.result()
}

func (u *unitReview) checkEvaluation(raw json.RawMessage) error {
	var e review.Evaluation
	if err := review.DecodeOutcome(raw, &e); err != nil {
		return err
	}
	return e.Check(u.keys, u.in.PreviousChanges, u.takenBy(u.consult, &review.Consultation{}), u.in.Unit, u.catalogue)
}

func (u *unitReview) checkConsultation(raw json.RawMessage) error {
	var c review.Consultation
	if err := review.DecodeOutcome(raw, &c); err != nil {
		return err
	}
	return c.Check(u.keys, u.takenBy(u.evaluate, &review.Evaluation{}), u.in.Unit)
}

// takenBy lists the item IDs the other task of the unit has used or is about
// to record, so that findings and feedback items never share an ID.
func (u *unitReview) takenBy(other *task, into interface{ IDs() []string }) []string {
	if other == nil || other.outcome == nil {
		return nil
	}
	if err := json.Unmarshal(other.outcome, into); err != nil {
		return nil
	}
	return into.IDs()
}

func (u *unitReview) result() (UnitResult, error) {
	var e review.Evaluation
	var c review.Consultation
	if err := json.Unmarshal(u.evaluate.outcome, &e); err != nil {
		return UnitResult{}, fmt.Errorf("reading the evaluation of unit %s: %w", u.in.Unit, err)
	}
	if err := json.Unmarshal(u.consult.outcome, &c); err != nil {
		return UnitResult{}, fmt.Errorf("reading the consultation of unit %s: %w", u.in.Unit, err)
	}
	res := UnitResult{Unit: u.in.Unit}
	for _, f := range e.Findings {
		res.Items = append(res.Items, review.Item{Ref: review.ItemRef(u.in.Unit, f.ID), Kind: review.ItemFinding, Severity: f.Severity, Section: f.Section, Text: f.Text})
	}
	for _, f := range c.Feedback {
		res.Items = append(res.Items, review.Item{Ref: review.ItemRef(u.in.Unit, f.ID), Kind: review.ItemFeedback, Section: f.Section, Text: f.Text})
	}
	return res, nil
}

func (u *unitReview) status() (review.Progress, error) {
	phase := "evaluate"
	if u.evaluate != nil && u.evaluate.state == stateDone && u.consult.state == stateDone {
		phase = "done"
	}
	return review.Progress{
		Provider: u.in.Provider, Year: u.in.Year, WorkflowID: u.id,
		Status: review.CycleRunning, Phase: review.PhaseEvaluate,
		Units: []review.UnitProgress{{Unit: u.in.Unit, Phase: phase}},
		Tasks: u.board.statuses(),
	}, nil
}
