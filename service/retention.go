package service

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/store"
)

// Retention is how long OHO keeps what it need not keep for ever (README,
// "Retention and pseudonymisation"). A zero period keeps that data for
// ever.
type Retention struct {
	// Notices is how long a notice that has been dealt with (sent, logged,
	// failed or uncertain) is kept after it was queued.
	Notices time.Duration `json:"notices"`
	// Left is how long after a person left (was disabled) their personal
	// data is kept before they are pseudonymised.
	Left time.Duration `json:"left"`
}

// The settings of Retention, in days ("400d") or as a Go duration
// ("9600h").
const (
	EnvRetainNotices = "OHO_RETAIN_NOTICES"
	EnvRetainLeft    = "OHO_RETAIN_LEFT"
)

// minRetention bounds the periods from below: a period shorter than a day
// is a typing slip that would delete this morning's notices.
const minRetention = 24 * time.Hour

// RetentionFromEnv reads the retention periods from OHO_RETAIN_NOTICES and
// OHO_RETAIN_LEFT; an unset one keeps that data for ever.
func RetentionFromEnv() (Retention, error) {
	var r Retention
	for _, s := range []struct {
		env string
		to  *time.Duration
	}{{EnvRetainNotices, &r.Notices}, {EnvRetainLeft, &r.Left}} {
		raw := strings.TrimSpace(os.Getenv(s.env))
		if raw == "" {
			continue
		}
		d, err := parsePeriod(raw)
		if err != nil {
			return Retention{}, fmt.Errorf("%s: %w", s.env, err)
		}
		*s.to = d
	}
	return r, nil
}

// parsePeriod reads "400d" (days) or a Go duration of at least a day.
func parsePeriod(raw string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(raw, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*366 {
			return 0, fmt.Errorf("%q is not a number of days from 1 to 36600, such as 400d", raw)
		}
		d = time.Duration(n) * minRetention
	} else {
		var err error
		if d, err = time.ParseDuration(raw); err != nil {
			return 0, fmt.Errorf("%q is neither days (400d) nor a duration (9600h)", raw)
		}
	}
	if d < minRetention {
		return 0, fmt.Errorf("%q is shorter than a day", raw)
	}
	return d, nil
}

// RetentionReport is what a retention run did, or with DryRun would do.
type RetentionReport struct {
	Provider string    `json:"provider,omitempty"`
	DryRun   bool      `json:"dry_run"`
	At       time.Time `json:"at"`
	Policy   Retention `json:"policy"`
	// NoticesBefore is the time before which notices dealt with are
	// deleted (nil: notices are kept), and Notices how many were.
	NoticesBefore *time.Time `json:"notices_before,omitempty"`
	Notices       int64      `json:"notices_deleted"`
	// LeftBefore is the time before which people who left are
	// pseudonymised (nil: they are kept); Pseudonymised are those who were,
	// and HeldBack those who could not be yet (store.LeftPerson.HeldBack
	// says why).
	LeftBefore    *time.Time            `json:"left_before,omitempty"`
	Pseudonymised []PseudonymisedPerson `json:"pseudonymised"`
	HeldBack      []store.LeftPerson    `json:"held_back"`
}

// PseudonymisedPerson is a person a retention run pseudonymised: the ID
// they had and how many rows named them. Their pseudonym, and the audit
// event that names it, are left out on purpose: a report that held both
// would be the one record tying the pseudonym to the person.
type PseudonymisedPerson struct {
	Person      string           `json:"person"`
	AuditEvents int64            `json:"audit_events"`
	Rewritten   map[string]int64 `json:"rewritten,omitempty"`
}

// RunRetention applies the retention periods to a provider's data (every
// provider's, for the operator, when provider is ""): it deletes the
// notices dealt with that were queued longer than policy.Notices ago, and
// pseudonymises every person who left longer than policy.Left ago (see
// store.Pseudonymise), each in a transaction of its own that the audit trail
// records. A person still assigned an open task, or holding a role while a
// cycle of their provider runs, is held back and reported.
// With dryRun it changes nothing and reports what it would do. Managers of
// the provider and the operator may run it (administer).
func (s *Service) RunRetention(ctx context.Context, a Actor, provider string, policy Retention, dryRun bool) (RetentionReport, error) {
	now := s.now()
	rep := RetentionReport{Provider: provider, DryRun: dryRun, At: now, Policy: policy,
		Pseudonymised: []PseudonymisedPerson{}, HeldBack: []store.LeftPerson{}}
	if provider == "" {
		if !a.operator {
			return rep, invalid("provider", "name the provider whose data the retention run is for")
		}
	} else if err := checkProvider(provider); err != nil {
		return rep, err
	}
	if err := a.authorize(provider, authz.OpAdminister, authz.Subject{On: "the retention of " + orAll(provider) + "'s data"}); err != nil {
		return rep, err
	}
	if policy.Notices == 0 && policy.Left == 0 {
		return rep, errorOf(ErrInvalid, "no retention period is set: set %s, %s or both (days, such as 400d); until then everything is kept",
			EnvRetainNotices, EnvRetainLeft)
	}
	if provider != "" {
		// An unknown provider is refused by name (its time zone is the
		// cheapest read that says whether it exists).
		if _, err := s.store.ProviderTimeZone(ctx, provider); err != nil {
			return rep, fromStore(err)
		}
	}

	if policy.Notices > 0 {
		before := now.Add(-policy.Notices)
		rep.NoticesBefore = &before
		var err error
		if dryRun {
			rep.Notices, err = s.store.NoticesBefore(ctx, provider, before)
		} else {
			rep.Notices, err = s.store.DeleteNotices(a.ctx(ctx), a.ID(), provider, before)
		}
		if err != nil {
			return rep, fromStore(err)
		}
	}

	if policy.Left > 0 {
		before := now.Add(-policy.Left)
		rep.LeftBefore = &before
		left, err := s.store.LeftBefore(ctx, provider, before)
		if err != nil {
			return rep, fromStore(err)
		}
		for _, p := range left {
			if p.HeldBack() != "" {
				rep.HeldBack = append(rep.HeldBack, p)
				continue
			}
			if dryRun {
				rep.Pseudonymised = append(rep.Pseudonymised, PseudonymisedPerson{Person: p.ID})
				continue
			}
			done, err := s.store.Pseudonymise(a.ctx(ctx), a.ID(), p.ID)
			if err != nil {
				return rep, fromStore(err)
			}
			rep.Pseudonymised = append(rep.Pseudonymised, PseudonymisedPerson{Person: p.ID, AuditEvents: done.AuditEvents, Rewritten: done.Rewritten})
		}
	}
	return rep, nil
}
