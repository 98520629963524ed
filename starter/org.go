package main

import (
	"context"
	"fmt"

	"github.com/oho-dev/oho/service"
	"github.com/oho-dev/oho/store"
)

func (a *app) orgImport(ctx context.Context, args []string) error {
	fs := newFlags("org import")
	as := fs.String("as", "", "import as this manager of the provider (default: the operator)")
	pos, err := parse(fs, args, "FILE.json")
	if err != nil {
		return err
	}
	raw, err := readFile(pos[0])
	if err != nil {
		return err
	}
	org, err := service.DecodeOrg(raw, pos[0])
	if err != nil {
		return err
	}
	actor, err := a.reader(ctx, *as)
	if err != nil {
		return err
	}
	return a.importOrg(ctx, actor, org)
}

func (a *app) importOrg(ctx context.Context, actor service.Actor, org store.Org) error {
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	res, err := svc.ImportOrg(ctx, actor, org)
	if err != nil {
		return err
	}
	changes := "nothing changed"
	if res.Added+res.Changed+res.Removed > 0 {
		changes = fmt.Sprintf("%d added, %d changed, %d removed", res.Added, res.Changed, res.Removed)
	}
	a.printf("imported provider %s (%s, %s, time zone %s): %s\n", org.Provider.Code,
		plural(len(org.Units), "unit", "units"), plural(len(org.People), "person", "people"), org.Provider.Zone(), changes)
	return nil
}
