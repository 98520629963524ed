package main

import (
	"context"
	"fmt"

	"github.com/oho-dev/oho/store"
)

func (a *app) orgImport(ctx context.Context, args []string) error {
	fs := newFlags("org import")
	pos, err := parse(fs, args, "FILE.json")
	if err != nil {
		return err
	}
	var org store.Org
	if _, err := readJSONFile(pos[0], &org); err != nil {
		return err
	}
	return a.importOrg(ctx, pos[0], org)
}

func (a *app) importOrg(ctx context.Context, source string, org store.Org) error {
	if err := org.Validate(); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	res, err := st.ImportOrg(ctx, org)
	if err != nil {
		return fmt.Errorf("importing %s: %w", source, err)
	}
	changes := "nothing changed"
	if res.Added+res.Changed+res.Removed > 0 {
		changes = fmt.Sprintf("%d added, %d changed, %d removed", res.Added, res.Changed, res.Removed)
	}
	a.printf("imported provider %s (%s, %s): %s\n", org.Provider.Code,
		plural(len(org.Units), "unit", "units"), plural(len(org.People), "person", "people"), changes)
	return nil
}
