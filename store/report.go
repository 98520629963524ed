package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/oho-dev/oho/review"
)

// Trace is everything the traceability report of one cycle shows: every
// finding and student feedback item with its disposition, the change that
// answered it and whether that change is in the published version; the
// signatures of every round; the evidence per unit (indicators against
// targets, how students were heard, how last cycle's changes worked); and the
// deferrals carried into next year. It is read in one snapshot, so a running
// cycle is reported as it stood at one moment.
type Trace struct {
	Provider     string `json:"provider"`
	ProviderName string `json:"provider_name"`
	Cycle        Cycle  `json:"cycle"`
	// FinalRound is the round whose changes and dispositions stand: the
	// published round, or else the last round drafted (0 before any draft).
	FinalRound int `json:"final_round"`
	// Published is the plan version the cycle published, if it has.
	Published *TraceVersion `json:"published,omitempty"`
	// PreviousCycle is the cycle whose published changes the units rated,
	// if there is one.
	PreviousCycle string        `json:"previous_cycle,omitempty"`
	Units         []TraceUnit   `json:"units"`
	Changes       []TraceChange `json:"changes"`
	Rounds        []TraceRound  `json:"rounds"`
	// Deferrals are the items whose disposition in the final round is
	// "deferred": open work carried into next year.
	Deferrals []TraceItem `json:"deferrals"`
	// Trends follow the cycle's catalogue indicators across the provider's
	// cycles up to this one; Effectiveness sums up the units' ratings of
	// each change of the previous cycle (see readAcrossCycles).
	Trends        []IndicatorTrend      `json:"trends"`
	Effectiveness []ChangeEffectiveness `json:"effectiveness"`
	// Carried are the items earlier cycles deferred, which this cycle had
	// to answer again, each with its way through the cycles before.
	Carried []TraceItem `json:"carried"`
	// Checklist is the cycle's legal-content checklist with where the
	// final round's draft covers each item; empty before a draft, and for
	// cycles set up before checklists.
	Checklist []review.CoveredItem `json:"checklist"`
}

// TraceVersion is a published plan version.
type TraceVersion struct {
	Number        int       `db:"version" json:"number"`
	Hash          string    `db:"content_hash" json:"hash"`
	EffectiveFrom string    `db:"effective_from" json:"effective_from"`
	PublishedAt   time.Time `db:"published_at" json:"published_at"`
	Round         int       `db:"round" json:"round"`
	ApprovedBy    string    `db:"approved_by" json:"approved_by"`
	// ApprovedByName is the approver's name, if the person is still known.
	ApprovedByName string `db:"approved_by_name" json:"approved_by_name"`
}

// TraceUnit is the evidence of one unit.
type TraceUnit struct {
	Code          string             `json:"code"`
	Name          string             `json:"name"`
	Indicators    []TraceIndicator   `json:"indicators"`
	Findings      []TraceItem        `json:"findings"`
	Consultation  *TraceConsultation `json:"consultation,omitempty"`
	Feedback      []TraceItem        `json:"feedback"`
	Effectiveness []TraceRating      `json:"effectiveness"`
}

// TraceIndicator is a measured value against its target.
type TraceIndicator struct {
	// Code is the catalogue indicator's code; empty for a free indicator.
	Code  string   `db:"code" json:"code,omitempty"`
	Name  string   `db:"name" json:"name"`
	Value *float64 `db:"value" json:"value"`
	// NotMeasured says why a catalogue indicator has no value.
	NotMeasured string  `db:"not_measured" json:"not_measured,omitempty"`
	Target      float64 `db:"target" json:"target"`
	Unit        string  `db:"unit" json:"unit"`
	// Better is "higher" when the target is a minimum, "lower" when it is a
	// maximum.
	Better string `db:"better" json:"better"`
	Met    bool   `db:"-" json:"met"`
}

// Item kinds of TraceItem.
const (
	ItemFinding  = "finding"
	ItemFeedback = "feedback"
)

// TraceItem is a finding or a student feedback item with how it was
// answered.
type TraceItem struct {
	Kind string `db:"kind" json:"kind"`
	Unit string `db:"unit_code" json:"unit"`
	ID   string `db:"item_id" json:"id"`
	// Ref is how drafts name the item: "UNIT/ID".
	Ref            string `db:"-" json:"ref"`
	Section        string `db:"section" json:"section"`
	Severity       string `db:"severity" json:"severity,omitempty"`
	Text           string `db:"text" json:"text"`
	Recommendation string `db:"recommendation" json:"recommendation,omitempty"`
	// Disposition is the final round's answer; nil when the item has none
	// (minor and info findings need none).
	Disposition *TraceDisposition `db:"-" json:"disposition,omitempty"`
	// From is, for an item carried from an earlier cycle, the year that
	// found it, and Earlier how each cycle since answered it.
	From    int             `db:"-" json:"from,omitempty"`
	Earlier []EarlierAnswer `db:"-" json:"earlier,omitempty"`
}

// EarlierAnswer is how an earlier cycle's published round answered an item
// it carried or found.
type EarlierAnswer struct {
	Year     int    `db:"year" json:"year"`
	Decision string `db:"decision" json:"decision"`
	Reason   string `db:"reason" json:"reason"`
	ChangeID string `db:"change_id" json:"change_id,omitempty"`
}

// TraceDisposition is how the plan editor answered an item.
type TraceDisposition struct {
	Round    int    `json:"round"`
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
	ChangeID string `json:"change_id,omitempty"`
	// Change is the change the disposition names, when it names one of the
	// round's changes.
	Change *TraceChange `json:"change,omitempty"`
}

// TraceChange is a change of the final round's draft.
type TraceChange struct {
	Round     int            `db:"round" json:"round"`
	ID        string         `db:"change_id" json:"id"`
	Section   string         `db:"section" json:"section"`
	Text      string         `db:"text" json:"text"`
	Rationale string         `db:"rationale" json:"rationale"`
	Addresses pq.StringArray `db:"addresses" json:"addresses"`
	// InPublished is true when the published version holds the change: it
	// was published from the change's round and its section reads as the
	// change wrote it.
	InPublished bool `db:"-" json:"in_published"`
}

// TraceConsultation is how a unit's students were heard: counts, never
// names.
type TraceConsultation struct {
	Method       string `db:"method" json:"method"`
	Participants int    `db:"participants" json:"participants"`
	HeldOn       string `db:"held_on" json:"held_on"`
}

// TraceRating is a unit's rating of a change the previous cycle published.
type TraceRating struct {
	ChangeID string `db:"change_id" json:"change_id"`
	// ChangeSection and ChangeText are what the rated change said; empty
	// when the previous cycle has no such change.
	ChangeSection string `db:"change_section" json:"change_section,omitempty"`
	ChangeText    string `db:"change_text" json:"change_text,omitempty"`
	Rating        string `db:"rating" json:"rating"`
	Note          string `db:"note" json:"note,omitempty"`
}

// TraceRound is one round's draft and the signatures it received.
type TraceRound struct {
	Round     int    `db:"round" json:"round"`
	DraftHash string `db:"content_hash" json:"draft_hash"`
	DraftedBy string `db:"drafted_by" json:"drafted_by"`
	// DraftedByName is the plan editor's name, if the person is still known.
	DraftedByName string    `db:"drafted_by_name" json:"drafted_by_name"`
	DraftedAt     time.Time `db:"created_at" json:"drafted_at"`
	// SignOffs are the unit heads' signatures, by unit.
	SignOffs []TraceSignature `db:"-" json:"signoffs"`
	// Approval is the approver's signature, if the round reached it.
	Approval *TraceSignature `db:"-" json:"approval,omitempty"`
	// Unsigned are the round's sign-off and approval tasks that closed, or
	// are still open, without a signature.
	Unsigned []TraceUnsigned `db:"-" json:"unsigned"`
}

// TraceSignature is a sign-off or an approval: who signed, in which role,
// what it means, when, and the hash of the draft signed.
type TraceSignature struct {
	// Kind is "signoff" (a unit head's, for the unit) or "approve" (the
	// approver's, for the provider).
	Kind          string    `db:"kind" json:"kind"`
	Round         int       `db:"round" json:"round"`
	Unit          string    `db:"unit_code" json:"unit,omitempty"`
	Signer        string    `db:"signer" json:"signer"`
	SignerName    string    `db:"signer_name" json:"signer_name"`
	Role          string    `db:"role" json:"role"`
	Decision      string    `db:"decision" json:"decision"`
	Meaning       string    `db:"meaning" json:"meaning"`
	Comment       string    `db:"comment" json:"comment,omitempty"`
	Hash          string    `db:"version_hash" json:"hash"`
	SignedAt      time.Time `db:"signed_at" json:"signed_at"`
	EffectiveFrom string    `db:"effective_from" json:"effective_from,omitempty"`
}

// TraceUnsigned is a signature task without a signature, and why.
type TraceUnsigned struct {
	Round  int             `db:"round" json:"round"`
	Kind   review.TaskKind `db:"kind" json:"kind"`
	Unit   string          `db:"unit_code" json:"unit,omitempty"`
	Status string          `db:"status" json:"status"`
}

// TraceReport reads the traceability report of the provider's cycle for the
// year. A provider that was never imported, or has no cycle that year, is
// ErrNotFound. A cycle still running is reported as it stands.
func (s *Store) TraceReport(ctx context.Context, provider string, year int) (Trace, error) {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return Trace{}, fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback()
	tr, err := readTrace(ctx, tx, provider, year)
	if err != nil {
		return Trace{}, fmt.Errorf("reading the report of %s %d: %w", provider, year, err)
	}
	return tr, nil
}

func readTrace(ctx context.Context, q sqlx.QueryerContext, provider string, year int) (Trace, error) {
	tr := Trace{Provider: provider, Units: []TraceUnit{}, Changes: []TraceChange{}, Rounds: []TraceRound{}, Deferrals: []TraceItem{}}
	const qProvider = `SELECT name FROM providers WHERE code = $1`
	err := sqlx.GetContext(ctx, q, &tr.ProviderName, qProvider, provider)
	if errors.Is(err, sql.ErrNoRows) {
		return Trace{}, errorf(ErrNotFound, "provider %q has not been imported", provider)
	}
	if err != nil {
		return Trace{}, fmt.Errorf("reading provider %s: %w", provider, dbError(err))
	}
	if tr.Cycle, err = cycleOf(ctx, q, provider, year); err != nil {
		return Trace{}, err
	}
	id := tr.Cycle.ID

	// The units, with any unit the records name that is no longer in the
	// organisation, so that no record is left out.
	var units []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	const qUnits = `
SELECT code, name FROM units WHERE provider_code = $1
UNION
SELECT unit_code, '' FROM (
    SELECT unit_code FROM indicators WHERE cycle_id = $2
    UNION SELECT unit_code FROM findings WHERE cycle_id = $2
    UNION SELECT unit_code FROM consultations WHERE cycle_id = $2
    UNION SELECT unit_code FROM feedback_items WHERE cycle_id = $2
    UNION SELECT unit_code FROM effectiveness_ratings WHERE cycle_id = $2) r
WHERE unit_code NOT IN (SELECT code FROM units WHERE provider_code = $1)
ORDER BY code`
	if err := sqlx.SelectContext(ctx, q, &units, qUnits, provider, id); err != nil {
		return Trace{}, fmt.Errorf("reading units: %w", dbError(err))
	}
	index := map[string]int{}
	for i, u := range units {
		index[u.Code] = i
		tr.Units = append(tr.Units, TraceUnit{Code: u.Code, Name: u.Name, Indicators: []TraceIndicator{},
			Findings: []TraceItem{}, Feedback: []TraceItem{}, Effectiveness: []TraceRating{}})
	}

	// The published version and the rounds.
	var published struct {
		TraceVersion
		Content []byte `db:"content"`
	}
	const qPublished = `
SELECT pv.version, pv.content_hash, to_char(pv.effective_from, 'YYYY-MM-DD') AS effective_from, pv.published_at,
    pv.round, pv.approved_by, COALESCE(p.name, '') AS approved_by_name, pv.content
FROM plan_versions pv LEFT JOIN people p ON p.id = pv.approved_by
WHERE pv.cycle_id = $1`
	var content review.PlanContent
	err = sqlx.GetContext(ctx, q, &published, qPublished, id)
	switch {
	case err == nil:
		tr.Published = &published.TraceVersion
		if err := json.Unmarshal(published.Content, &content); err != nil {
			return Trace{}, fmt.Errorf("decoding the published version: %w", err)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return Trace{}, fmt.Errorf("reading the published version: %w", dbError(err))
	}
	const qRounds = `
SELECT d.round, d.content_hash, d.drafted_by, COALESCE(p.name, '') AS drafted_by_name, d.created_at
FROM plan_drafts d LEFT JOIN people p ON p.id = d.drafted_by
WHERE d.cycle_id = $1 ORDER BY d.round`
	if err := sqlx.SelectContext(ctx, q, &tr.Rounds, qRounds, id); err != nil {
		return Trace{}, fmt.Errorf("reading drafts: %w", dbError(err))
	}
	if n := len(tr.Rounds); n > 0 {
		tr.FinalRound = tr.Rounds[n-1].Round
	}
	if tr.Published != nil {
		tr.FinalRound = tr.Published.Round
	}
	if err := readSignatures(ctx, q, id, tr.Rounds); err != nil {
		return Trace{}, err
	}

	// The final round's changes, and whether the published text holds them.
	const qChanges = `
SELECT round, change_id, section, text, rationale, addresses FROM plan_changes
WHERE cycle_id = $1 AND round = $2 ORDER BY change_id`
	if err := sqlx.SelectContext(ctx, q, &tr.Changes, qChanges, id, tr.FinalRound); err != nil {
		return Trace{}, fmt.Errorf("reading changes: %w", dbError(err))
	}
	changes := map[string]*TraceChange{}
	for i := range tr.Changes {
		c := &tr.Changes[i]
		if tr.Published != nil && tr.Published.Round == c.Round {
			// Text finds an annex ("annex/NORTH") as it finds a section.
			text, ok := content.Text(c.Section)
			c.InPublished = ok && text == c.Text
		}
		changes[c.ID] = c
	}

	// Findings and feedback with the final round's dispositions.
	var items []struct {
		TraceItem
		Decision *string `db:"decision"`
		Reason   string  `db:"reason"`
		ChangeID string  `db:"change_id"`
	}
	const qItems = `
SELECT i.kind, i.unit_code, i.item_id, i.section, i.severity, i.text, i.recommendation,
    d.decision, COALESCE(d.reason, '') AS reason, COALESCE(d.change_id, '') AS change_id
FROM (
    SELECT 'finding' AS kind, unit_code, item_id, section, severity, text, recommendation
    FROM findings WHERE cycle_id = $1
    UNION ALL
    SELECT 'feedback', unit_code, item_id, section, '', text, ''
    FROM feedback_items WHERE cycle_id = $1) i
LEFT JOIN dispositions d ON d.cycle_id = $1 AND d.round = $2 AND d.item_ref = i.unit_code || '/' || i.item_id
ORDER BY i.unit_code, i.kind DESC, i.item_id`
	if err := sqlx.SelectContext(ctx, q, &items, qItems, id, tr.FinalRound); err != nil {
		return Trace{}, fmt.Errorf("reading findings and feedback: %w", dbError(err))
	}
	for _, row := range items {
		it := row.TraceItem
		it.Ref = it.Unit + "/" + it.ID
		if row.Decision != nil {
			d := &TraceDisposition{Round: tr.FinalRound, Decision: *row.Decision, Reason: row.Reason, ChangeID: row.ChangeID}
			if c, ok := changes[row.ChangeID]; ok {
				cc := *c
				d.Change = &cc
			}
			it.Disposition = d
			if d.Decision == review.DecisionDeferred {
				tr.Deferrals = append(tr.Deferrals, it)
			}
		}
		u := &tr.Units[index[it.Unit]]
		if it.Kind == ItemFinding {
			u.Findings = append(u.Findings, it)
		} else {
			u.Feedback = append(u.Feedback, it)
		}
	}

	// Indicators, consultations and the ratings of last cycle's changes.
	var indicators []struct {
		TraceIndicator
		UnitCode string `db:"unit_code"`
	}
	const qIndicators = `
SELECT unit_code, code, name, value, COALESCE(not_measured_reason, '') AS not_measured, target, unit, better FROM indicators
WHERE cycle_id = $1 ORDER BY unit_code, ordinal`
	if err := sqlx.SelectContext(ctx, q, &indicators, qIndicators, id); err != nil {
		return Trace{}, fmt.Errorf("reading indicators: %w", dbError(err))
	}
	for _, row := range indicators {
		ind := row.TraceIndicator
		ind.Met = ind.Value != nil && review.TargetMet(*ind.Value, ind.Target, ind.Better)
		u := &tr.Units[index[row.UnitCode]]
		u.Indicators = append(u.Indicators, ind)
	}
	var consultations []struct {
		TraceConsultation
		UnitCode string `db:"unit_code"`
	}
	const qConsultations = `
SELECT unit_code, method, participants, to_char(held_on, 'YYYY-MM-DD') AS held_on
FROM consultations WHERE cycle_id = $1`
	if err := sqlx.SelectContext(ctx, q, &consultations, qConsultations, id); err != nil {
		return Trace{}, fmt.Errorf("reading consultations: %w", dbError(err))
	}
	for _, row := range consultations {
		c := row.TraceConsultation
		tr.Units[index[row.UnitCode]].Consultation = &c
	}
	// The previous cycle is found as SetupCycle found it: the provider's
	// latest completed cycle of an earlier year.
	const qPrevious = `
SELECT id FROM cycles
WHERE provider_code = $1 AND year < $2 AND status = 'completed'
ORDER BY year DESC LIMIT 1`
	err = sqlx.GetContext(ctx, q, &tr.PreviousCycle, qPrevious, provider, year)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Trace{}, fmt.Errorf("reading the previous cycle: %w", dbError(err))
	}
	var ratings []struct {
		TraceRating
		UnitCode string `db:"unit_code"`
	}
	const qRatings = `
SELECT r.unit_code, r.change_id, r.rating, r.note,
    COALESCE(pc.section, '') AS change_section, COALESCE(pc.text, '') AS change_text
FROM effectiveness_ratings r
LEFT JOIN plan_versions pv ON pv.cycle_id = $2
LEFT JOIN plan_changes pc ON pc.cycle_id = pv.cycle_id AND pc.round = pv.round AND pc.change_id = r.change_id
WHERE r.cycle_id = $1
ORDER BY r.unit_code, r.change_id`
	if err := sqlx.SelectContext(ctx, q, &ratings, qRatings, id, tr.PreviousCycle); err != nil {
		return Trace{}, fmt.Errorf("reading effectiveness ratings: %w", dbError(err))
	}
	for _, row := range ratings {
		u := &tr.Units[index[row.UnitCode]]
		u.Effectiveness = append(u.Effectiveness, row.TraceRating)
	}
	if err := readAcrossCycles(ctx, q, &tr); err != nil {
		return Trace{}, err
	}
	if err := readCarried(ctx, q, &tr, changes); err != nil {
		return Trace{}, err
	}
	if err := readChecklist(ctx, q, &tr); err != nil {
		return Trace{}, err
	}
	return tr, nil
}

// readCarried reads the items earlier cycles deferred into this one, as the
// cycle's setup found them, with this cycle's final answer and every
// earlier cycle's, so that an item can be followed from the year that found
// it until a cycle addresses or rejects it.
func readCarried(ctx context.Context, q sqlx.QueryerContext, tr *Trace, changes map[string]*TraceChange) error {
	items, err := carried(ctx, q, tr.Provider, tr.Cycle.Year)
	if err != nil {
		return err
	}
	tr.Carried = []TraceItem{}
	for _, c := range items {
		_, unit, id, _ := originOf(c.From, c.Ref)
		it := TraceItem{Kind: string(c.Kind), Unit: unit, ID: id, Ref: c.Ref, Section: c.Section, Severity: c.Severity, Text: c.Text, From: c.From}
		// Every completed cycle from the one that found it, up to this one:
		// the item by its own reference in the year that found it, by its
		// carried reference after.
		const qEarlier = `
SELECT c.year, d.decision, d.reason, d.change_id
FROM dispositions d
JOIN cycles c ON c.id = d.cycle_id
JOIN plan_versions pv ON pv.cycle_id = d.cycle_id AND pv.round = d.round
WHERE c.provider_code = $1 AND c.year >= $2 AND c.year < $3
  AND d.item_ref = CASE WHEN c.year = $2 THEN $4 ELSE $5 END
ORDER BY c.year`
		if err := sqlx.SelectContext(ctx, q, &it.Earlier, qEarlier, tr.Provider, c.From, tr.Cycle.Year, review.ItemRef(unit, id), c.Ref); err != nil {
			return fmt.Errorf("reading how earlier cycles answered %s: %w", c.Ref, dbError(err))
		}
		var d struct {
			Decision string `db:"decision"`
			Reason   string `db:"reason"`
			ChangeID string `db:"change_id"`
		}
		const qNow = `SELECT decision, reason, change_id FROM dispositions WHERE cycle_id = $1 AND round = $2 AND item_ref = $3`
		err := sqlx.GetContext(ctx, q, &d, qNow, tr.Cycle.ID, tr.FinalRound, c.Ref)
		switch {
		case err == nil:
			it.Disposition = &TraceDisposition{Round: tr.FinalRound, Decision: d.Decision, Reason: d.Reason, ChangeID: d.ChangeID}
			if ch, ok := changes[d.ChangeID]; ok {
				cc := *ch
				it.Disposition.Change = &cc
			}
			if d.Decision == review.DecisionDeferred {
				tr.Deferrals = append(tr.Deferrals, it)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("reading this cycle's answer to %s: %w", c.Ref, dbError(err))
		}
		tr.Carried = append(tr.Carried, it)
	}
	return nil
}

// readChecklist reads the cycle's checklist and where its final round's
// draft covers each item.
func readChecklist(ctx context.Context, q sqlx.QueryerContext, tr *Trace) error {
	covered, err := roundChecklist(ctx, q, tr.Cycle.ID, tr.FinalRound)
	if err != nil {
		return err
	}
	tr.Checklist = []review.CoveredItem{}
	if covered != nil {
		tr.Checklist = covered
	}
	return nil
}

// roundChecklist reads a cycle's checklist with where the draft of the
// round covers each item; nil when the round has no draft or the cycle was
// set up before checklists.
func roundChecklist(ctx context.Context, q sqlx.QueryerContext, cycleID string, round int) ([]review.CoveredItem, error) {
	var row struct {
		Checklist []byte `db:"checklist"`
		Coverage  []byte `db:"coverage"`
	}
	const qChecklist = `
SELECT c.checklist, d.coverage FROM cycles c
JOIN plan_drafts d ON d.cycle_id = c.id AND d.round = $2
WHERE c.id = $1`
	err := sqlx.GetContext(ctx, q, &row, qChecklist, cycleID, round)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the checklist of round %d of %s: %w", round, cycleID, dbError(err))
	}
	covered, err := coveredChecklist(row.Checklist, row.Coverage)
	if err != nil {
		return nil, fmt.Errorf("decoding the checklist of round %d of %s: %w", round, cycleID, err)
	}
	return covered, nil
}

// signatures reads the sign-offs and approvals of a cycle's round (0: of
// every round), by round, sign-offs by unit before the approval.
func signatures(ctx context.Context, q sqlx.QueryerContext, cycleID string, round int) ([]TraceSignature, error) {
	const qSignatures = `
SELECT 'signoff' AS kind, s.round, s.unit_code, s.signer, COALESCE(p.name, '') AS signer_name, s.role, s.decision,
    s.meaning, s.comment, s.version_hash, s.signed_at, '' AS effective_from
FROM signoffs s LEFT JOIN people p ON p.id = s.signer
WHERE s.cycle_id = $1 AND ($2 = 0 OR s.round = $2)
UNION ALL
SELECT 'approve', a.round, '', a.approver, COALESCE(p.name, ''), a.role, a.decision,
    a.meaning, a.comment, a.version_hash, a.signed_at, COALESCE(to_char(a.effective_from, 'YYYY-MM-DD'), '')
FROM approvals a LEFT JOIN people p ON p.id = a.approver
WHERE a.cycle_id = $1 AND ($2 = 0 OR a.round = $2)
ORDER BY round, kind DESC, unit_code`
	sigs := []TraceSignature{}
	if err := sqlx.SelectContext(ctx, q, &sigs, qSignatures, cycleID, round); err != nil {
		return nil, fmt.Errorf("reading signatures: %w", dbError(err))
	}
	return sigs, nil
}

// readSignatures fills the rounds' sign-offs, approvals and the signature
// tasks that have none.
func readSignatures(ctx context.Context, q sqlx.QueryerContext, cycleID string, rounds []TraceRound) error {
	at := map[int]*TraceRound{}
	for i := range rounds {
		rounds[i].SignOffs = []TraceSignature{}
		rounds[i].Unsigned = []TraceUnsigned{}
		at[rounds[i].Round] = &rounds[i]
	}
	sigs, err := signatures(ctx, q, cycleID, 0)
	if err != nil {
		return err
	}
	for _, sig := range sigs {
		r, ok := at[sig.Round]
		if !ok {
			continue // the foreign key to the round's draft makes this impossible
		}
		if sig.Kind == string(review.KindApprove) {
			r.Approval = &sig
		} else {
			r.SignOffs = append(r.SignOffs, sig)
		}
	}
	var unsigned []TraceUnsigned
	const qUnsigned = `
SELECT round, kind, unit_code, status FROM tasks
WHERE cycle_id = $1 AND kind IN ('signoff', 'approve') AND status <> 'done'
ORDER BY round, kind DESC, unit_code`
	if err := sqlx.SelectContext(ctx, q, &unsigned, qUnsigned, cycleID); err != nil {
		return fmt.Errorf("reading signature tasks: %w", dbError(err))
	}
	for _, u := range unsigned {
		if r, ok := at[u.Round]; ok {
			r.Unsigned = append(r.Unsigned, u)
		}
	}
	return nil
}
