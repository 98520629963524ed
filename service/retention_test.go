package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/oho-dev/oho/service"
)

// TestRetentionFromEnv reads the periods as days or Go durations of a day
// or more, and refuses anything else naming the variable.
func TestRetentionFromEnv(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		notices, left string
		want          service.Retention
		err           string
	}{
		{"", "", service.Retention{}, ""},
		{"400d", "", service.Retention{Notices: 400 * day}, ""},
		{" 400d ", "730d", service.Retention{Notices: 400 * day, Left: 730 * day}, ""},
		{"", "9600h", service.Retention{Left: 400 * day}, ""},
		{"1d", "24h", service.Retention{Notices: day, Left: day}, ""},
		{"0d", "", service.Retention{}, `OHO_RETAIN_NOTICES: "0d" is not a number of days from 1 to 36600`},
		{"", "-5d", service.Retention{}, `OHO_RETAIN_LEFT: "-5d" is not a number of days`},
		{"40000d", "", service.Retention{}, `OHO_RETAIN_NOTICES: "40000d" is not a number of days from 1 to 36600`},
		{"", "2y", service.Retention{}, `OHO_RETAIN_LEFT: "2y" is neither days (400d) nor a duration (9600h)`},
		{"23h", "", service.Retention{}, `OHO_RETAIN_NOTICES: "23h" is shorter than a day`},
		{"", "-48h", service.Retention{}, `OHO_RETAIN_LEFT: "-48h" is shorter than a day`},
	} {
		t.Setenv(service.EnvRetainNotices, tc.notices)
		t.Setenv(service.EnvRetainLeft, tc.left)
		got, err := service.RetentionFromEnv()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q, %q: %v", tc.notices, tc.left, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q, %q: got %v, want an error saying %s", tc.notices, tc.left, err, tc.err)
		case tc.err == "" && got != tc.want:
			t.Errorf("%q, %q: got %+v, want %+v", tc.notices, tc.left, got, tc.want)
		}
	}
}
