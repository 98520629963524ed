package main

import (
	"context"
	"strings"
	"time"
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
