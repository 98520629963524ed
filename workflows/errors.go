package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
)

// asApplicationError finds the innermost application error in err's chain,
// which carries the message written where the failure happened.
func asApplicationError(err error, target **temporal.ApplicationError) bool {
	found := false
	for e := err; e != nil; e = errors.Unwrap(e) {
		var appErr *temporal.ApplicationError
		if errors.As(e, &appErr) {
			*target = appErr
			found = true
			e = appErr
		} else {
			break
		}
	}
	return found
}
