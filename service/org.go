package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/check"
	"github.com/oho-dev/oho/store"
)

// DecodeOrg reads an organisation file strictly (unknown fields refused) and
// validates it; what names the input in messages (a file's path).
func DecodeOrg(raw []byte, what string) (store.Org, error) {
	var org store.Org
	if err := check.Decode(raw, what, &org); err != nil {
		return store.Org{}, invalidInput(what, "", err)
	}
	if err := org.Validate(); err != nil {
		return store.Org{}, &Error{kind: ErrInvalid, msg: fmt.Sprintf("%s: %v", what, err), err: err}
	}
	if err := check.Strict(org); err != nil {
		return store.Org{}, invalidInput(what, "", err)
	}
	return org, nil
}

// ImportOrg makes the provider's units, people and roles match the
// organisation file; importing the same file again changes nothing. The
// operator may import any provider, a new one included; a provider's
// managers their own.
func (s *Service) ImportOrg(ctx context.Context, a Actor, org store.Org) (store.ImportResult, error) {
	if err := org.Validate(); err != nil {
		return store.ImportResult{}, &Error{kind: ErrInvalid, msg: err.Error(), err: err}
	}
	// The stricter rules of new input (check.Strict), which the store's
	// own check leaves out.
	if err := check.Strict(org); err != nil {
		return store.ImportResult{}, invalidInput("the organisation", "", err)
	}
	provider := org.Provider.Code
	if err := a.authorize(provider, authz.OpAdminister, authz.Subject{On: "the organisation of " + provider}); err != nil {
		return store.ImportResult{}, err
	}
	res, err := s.store.ImportOrg(a.ctx(ctx), a.ID(), org)
	if err != nil {
		err = fromStore(err)
		var e *Error
		if errors.As(err, &e) {
			e.msg = "importing the organisation of " + provider + ": " + e.msg
		}
		return store.ImportResult{}, err
	}
	return res, nil
}
