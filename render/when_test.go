package render

import (
	"testing"
	"time"
)

func TestWhenAndDay(t *testing.T) {
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	winter := time.Date(2026, 12, 1, 2, 55, 0, 0, time.UTC)
	summer := time.Date(2027, 6, 15, 21, 5, 0, 0, time.UTC)
	for _, tt := range []struct {
		t    time.Time
		loc  *time.Location
		lang Lang
		when string
		day  string
	}{
		{winter, helsinki, Finnish, "1.12.2026 klo 4.55 EET", "1.12.2026"},
		{winter, helsinki, English, "1 Dec 2026 04:55 EET", "1 Dec 2026"},
		{summer, helsinki, Finnish, "16.6.2027 klo 0.05 EEST", "16.6.2027"},
		{summer, helsinki, English, "16 Jun 2027 00:05 EEST", "16 Jun 2027"},
		{summer, nil, English, "15 Jun 2027 21:05 UTC", "15 Jun 2027"},
	} {
		if got := When(tt.t, tt.loc, tt.lang); got != tt.when {
			t.Errorf("When(%s, %v, %s) = %q, want %q", tt.t, tt.loc, tt.lang, got, tt.when)
		}
		if got := Day(tt.t, tt.loc, tt.lang); got != tt.day {
			t.Errorf("Day(%s, %v, %s) = %q, want %q", tt.t, tt.loc, tt.lang, got, tt.day)
		}
	}
	for in, want := range map[string]Lang{"fi": Finnish, "en": English, "en-GB": English, "sv": Finnish, "": Finnish} {
		if got := ParseLang(in); got != want {
			t.Errorf("ParseLang(%q) = %s, want %s", in, got, want)
		}
	}
}
