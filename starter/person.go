package main

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/oho-dev/oho/render"
)

// personInvite mails a person a one-time link to set their password.
func (a *app) personInvite(ctx context.Context, args []string) error {
	fs := newFlags("person invite")
	as := fs.String("as", "", "invite as this manager of the person's provider (default: the operator)")
	pos, err := parse(fs, args, "PERSON")
	if err != nil {
		return err
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	inv, err := svc.InvitePerson(ctx, actor, pos[0])
	if err != nil {
		return err
	}
	a.printf("invitation for %s queued to %s; its link works once, until %s\n", inv.Person, inv.Email, inv.ExpiresAt.Format(time.RFC3339))
	return nil
}

// personDisable stops a person from logging in and ends their sessions and
// tokens.
func (a *app) personDisable(ctx context.Context, args []string) error {
	fs := newFlags("person disable")
	as := fs.String("as", "", "disable as this manager of the person's provider (default: the operator)")
	reason := fs.String("reason", "", "why")
	pos, err := parse(fs, args, "PERSON")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("person disable needs --reason")
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	if err := svc.DisablePerson(ctx, actor, pos[0], *reason); err != nil {
		return err
	}
	a.printf("%s is disabled: no login, and their sessions and API tokens no longer work\n", pos[0])
	return nil
}

// tokenRevoke revokes an API token, the operator acting.
func (a *app) tokenRevoke(ctx context.Context, args []string) error {
	fs := newFlags("token revoke")
	pos, err := parse(fs, args, "TOKEN_ID")
	if err != nil {
		return err
	}
	actor, svc, err := a.readerService(ctx, "")
	if err != nil {
		return err
	}
	if err := svc.RevokeToken(ctx, actor, pos[0]); err != nil {
		return err
	}
	a.printf("API token %s is revoked\n", pos[0])
	return nil
}

// personExport writes everything OHO holds about a person as one JSON
// document (their right of access): to standard output, or to a file only
// its owner may read.
func (a *app) personExport(ctx context.Context, args []string) error {
	fs := newFlags("person export")
	as := fs.String("as", "", "export as this person: themselves, or an auditor or manager of their provider (default: the operator)")
	out := fs.String("out", "", "file to write, readable by you alone (default: standard output)")
	pos, err := parse(fs, args, "PERSON")
	if err != nil {
		return err
	}
	// The export is recorded in the audit trail when it is gathered: a
	// file that cannot be written is refused before.
	if *out != "" {
		if err := checkOutPath(*out); err != nil {
			return err
		}
	}
	actor, svc, err := a.readerService(ctx, *as)
	if err != nil {
		return err
	}
	export, err := svc.ExportPerson(ctx, actor, pos[0])
	if err != nil {
		return err
	}
	// Rendered whole first, so that a failure writes nothing.
	var buf bytes.Buffer
	if err := render.PersonExportJSON(&buf, export); err != nil {
		return err
	}
	if *out == "" {
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	if err := writeFileMode(*out, buf.Bytes(), 0o600); err != nil {
		return err
	}
	a.printf("wrote %s: person %s, %s, %s, %s\n", *out, export.Person.ID, plural(len(export.Tasks), "task", "tasks"),
		plural(len(export.Notices), "notice", "notices"), plural(len(export.Audit.Events), "audit event", "audit events"))
	return nil
}
