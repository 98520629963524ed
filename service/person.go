package service

import (
	"context"
	"slices"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/store"
)

// ExportPerson gathers everything OHO holds about a person, as one
// document (their right of access, GDPR article 15): their record, roles,
// logins, sessions and API tokens (never a secret), the tasks assigned or
// offered to them and those they completed with what they wrote, their
// signatures, the notices queued for them, and every audit event that names
// them with the chain's head, so that each event can be checked; and where
// else data about them lives (Temporal's histories of the workflows named,
// mail, logs, files, backups), which the document names but does not copy.
//
// The person themselves may, and the auditors and managers of their
// provider; the operator reads everyone's. The export is recorded in the
// audit trail (person.exported), so that the person can learn who read all
// of their data at once.
func (s *Service) ExportPerson(ctx context.Context, a Actor, person string) (render.PersonExport, error) {
	if err := checkPerson("person", person); err != nil {
		return render.PersonExport{}, err
	}
	p, err := s.store.Person(ctx, person)
	if err != nil {
		return render.PersonExport{}, personError(person, err)
	}
	if err := a.authorize(p.Provider, authz.OpExportPerson, authz.Subject{On: "the personal data of " + person, Person: person}); err != nil {
		return render.PersonExport{}, err
	}
	data, err := s.store.PersonData(ctx, person)
	if err != nil {
		return render.PersonExport{}, personError(person, err)
	}
	ev := store.IdentityEvent{Actor: a.ID(), Action: store.ActionPersonExported, Person: person,
		Payload: map[string]any{"tasks": len(data.Tasks), "notices": len(data.Notices), "audit_events": len(data.Audit.Events)}}
	if err := s.store.RecordIdentity(a.ctx(ctx), ev); err != nil {
		return render.PersonExport{}, fromStore(err)
	}
	return render.PersonExport{ExportedAt: s.now(), ExportedBy: a.ID(), PersonData: data, Elsewhere: elsewhere(data)}, nil
}

// People lists the people of a provider, for an auditor or a manager to
// choose whose data to export.
func (s *Service) People(ctx context.Context, a Actor, provider string) ([]store.PersonSummary, error) {
	if err := checkProvider(provider); err != nil {
		return nil, err
	}
	if err := a.authorize(provider, authz.OpExportPerson, authz.Subject{On: "the people of " + provider}); err != nil {
		return nil, err
	}
	people, err := s.store.People(ctx, provider)
	return people, fromStore(err)
}

// elsewhere says where, outside the database, data about the person lives:
// what the export cannot copy, so that the person knows to ask for it there.
func elsewhere(d store.PersonData) []render.Elsewhere {
	var workflows []string
	for _, t := range d.Tasks {
		workflows = append(workflows, t.WorkflowID)
	}
	for _, e := range d.Audit.Events {
		if e.WorkflowID != "" {
			workflows = append(workflows, e.WorkflowID)
		}
	}
	slices.Sort(workflows)
	workflows = slices.Compact(workflows)
	return []render.Elsewhere{
		{Where: "temporal", Workflows: workflows,
			What: "The Temporal server keeps the history of each of these workflows: the tasks it opened and who may do them, " +
				"each completion with the person's ID and the whole outcome they wrote, task operations with their reasons, " +
				"and the people notified of deadlines. OHO encrypts these payloads when it runs with payload keys; " +
				"the histories are kept for the Temporal namespace's retention period after a workflow closes. " +
				"The provider's auditors read them in the audit export and through OHO's codec server."},
		{Where: "mail",
			What: "Notices in the state sent were mailed to the address they show: copies are in the mail servers and mailboxes they passed, outside OHO."},
		{Where: "logs",
			What: "The worker logs each notice it delivers (the person's ID and e-mail address) and, for a notice it logs instead of mailing, " +
				"its whole text; it and the web server log person IDs with the tasks they complete and with failures. " +
				"Logs are kept as the server's logging keeps them."},
		{Where: "files",
			What: "Audit exports, traceability reports and person exports that people downloaded are files outside OHO, kept as their holders keep them."},
		{Where: "backups",
			What: "Backups of the database and of the Temporal server hold what they held at their time, until the backups are deleted."},
	}
}
