package review_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/oho-dev/oho/review"
)

var importUnits = []review.Unit{{Code: "NORTH", Name: "North Campus"}, {Code: "SOUTH", Name: "South Campus"}}

// outline writes content as one line per section and annex: key, title and
// text, which the cases compare.
func outline(c review.PlanContent) []string {
	var out []string
	for _, p := range c.Parts() {
		out = append(out, fmt.Sprintf("%s|%s|%s", p.Key, p.Title, p.Text))
	}
	return out
}

func TestParsePlanMarkdown(t *testing.T) {
	defaults := review.ImportBasis{Sections: review.DefaultSections, Units: importUnits}
	adding := defaults
	adding.AddSections = true
	for _, tt := range []struct {
		name  string
		basis review.ImportBasis
		md    string
		want  []string
		title string
		added []string
		empty []string
	}{
		{
			name:  "known titles in any case and spacing, in the file's order, missing ones empty",
			basis: defaults,
			md: "# Harjula student welfare plan\n\n## Communal   WELFARE\n\nTwo supervisors at every break.\n\nThe rota is posted on Mondays.\n\n" +
				"## 3. Individual welfare\nNurse drop-in every day.  \n### Autumn\n- September\n- October\n",
			title: "Harjula student welfare plan",
			want: []string{
				"communal|Communal welfare|Two supervisors at every break.\n\nThe rota is posted on Mondays.",
				"individual|Individual welfare|Nurse drop-in every day.  \n### Autumn\n- September\n- October",
				"welfare_need|Overall welfare need and services|",
				"cooperation|Cooperation with students and guardians|",
				"common_practices|Common practices across units|",
				"monitoring|Implementation and monitoring|",
			},
			empty: []string{"welfare_need", "cooperation", "common_practices", "monitoring"},
		},
		{
			name:  "an explicit key renames the section; an empty heading is an empty section",
			basis: defaults,
			md:    "## Yhteisöllinen hyvinvointi {#communal}\nKaksi valvojaa.\n## Implementation and monitoring ##\n\n",
			want: []string{
				"communal|Yhteisöllinen hyvinvointi|Kaksi valvojaa.",
				"monitoring|Implementation and monitoring|",
				"welfare_need|Overall welfare need and services|",
				"individual|Individual welfare|",
				"cooperation|Cooperation with students and guardians|",
				"common_practices|Common practices across units|",
			},
			empty: []string{"monitoring", "welfare_need", "individual", "cooperation", "common_practices"},
		},
		{
			name:  "annexes by heading and by key, in unit order, titled by default after the unit",
			basis: review.ImportBasis{Sections: review.DefaultSections[:1], Units: importUnits},
			md: "## Overall welfare need and services\nNeeds.\n## Annex south\nSouth's welfare group meets monthly.\n" +
				"## North arrangements {#annex/NORTH}\nNorth's nurse is in room 12.\n",
			want: []string{
				"welfare_need|Overall welfare need and services|Needs.",
				"annex/NORTH|North arrangements|North's nurse is in room 12.",
				"annex/SOUTH|South Campus annex|South's welfare group meets monthly.",
			},
		},
		{
			name:  "annex with a title",
			basis: review.ImportBasis{Sections: review.DefaultSections[:1], Units: importUnits},
			md:    "## Overall welfare need and services\nNeeds.\n## Annex NORTH: North Campus arrangements\nRoom 12.",
			want:  []string{"welfare_need|Overall welfare need and services|Needs.", "annex/NORTH|North Campus arrangements|Room 12."},
		},
		{
			name:  "new sections keyed after their titles or by their keys",
			basis: adding,
			md: "## Communal welfare\nRota.\n## 7. Digital welfare services\nOnline booking.\n## Työelämäyhteistyö {#worklife}\nPartners.\n" +
				"## Hyvinvointi & yhteisöllisyys\nTogether.\n",
			want: []string{
				"communal|Communal welfare|Rota.",
				"digital_welfare_services|Digital welfare services|Online booking.",
				"worklife|Työelämäyhteistyö|Partners.",
				"hyvinvointi_yhteisollisyys|Hyvinvointi & yhteisöllisyys|Together.",
				"welfare_need|Overall welfare need and services|",
				"individual|Individual welfare|",
				"cooperation|Cooperation with students and guardians|",
				"common_practices|Common practices across units|",
				"monitoring|Implementation and monitoring|",
			},
			added: []string{"digital_welfare_services", "worklife", "hyvinvointi_yhteisollisyys"},
			empty: []string{"welfare_need", "individual", "cooperation", "common_practices", "monitoring"},
		},
		{
			name:  "headings inside a fenced block are text; CRLF and a byte order mark are read",
			basis: review.ImportBasis{Sections: review.DefaultSections[:1], Units: importUnits},
			md:    "\uFEFF## Overall welfare need and services\r\nNeeds:\r\n```\r\n## not a heading\r\n```\r\nEnd.\r\n",
			want:  []string{"welfare_need|Overall welfare need and services|Needs:\n```\n## not a heading\n```\nEnd."},
		},
		{
			name: "the sections of the version in force, not the defaults, are the known ones",
			basis: review.ImportBasis{Sections: []review.Section{{Key: "digital", Title: "Digital welfare services"}},
				Units: importUnits},
			md:   "## digital welfare services\nBooking.",
			want: []string{"digital|Digital welfare services|Booking."},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := review.ParsePlanMarkdown(tt.md, tt.basis)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if g := outline(got.Content); !slices.Equal(g, tt.want) {
				t.Errorf("got content\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(tt.want, "\n"))
			}
			if got.Title != tt.title || !slices.Equal(got.Added, tt.added) || !slices.Equal(got.Empty, tt.empty) {
				t.Errorf("got title %q, added %v, empty %v; want %q, %v, %v", got.Title, got.Added, got.Empty, tt.title, tt.added, tt.empty)
			}
		})
	}
}

func TestParsePlanMarkdownRefusals(t *testing.T) {
	defaults := review.ImportBasis{Sections: review.DefaultSections, Units: importUnits}
	adding := defaults
	adding.AddSections = true
	long := strings.Repeat("x", review.MaxSectionText+1)
	var many strings.Builder
	for i := range review.MaxSections {
		fmt.Fprintf(&many, "## Extra %d\ntext\n", i)
	}
	for _, tt := range []struct {
		name  string
		basis review.ImportBasis
		md    string
		line  int
		want  []string
	}{
		{"an empty document", defaults, " \n\n", 0, []string{"has no section headings", "## Section title"}},
		{"only a title", defaults, "# Plan\n", 0, []string{"has no section headings"}},
		{"text before the first section", defaults, "# Plan\n\nThis plan was approved in 2024.\n## Communal welfare\nx", 3,
			[]string{`text before the first section heading ("This plan was approved in 2024.")`}},
		{"a deeper heading before the first section", defaults, "### Intro\n## Communal welfare\nx", 1, []string{"text before the first section heading"}},
		{"an unknown heading lists the known ones", defaults, "## Communal welfare\nx\n## Canteen\ny", 3, []string{
			`"Canteen" is not a section of the plan`, `"Communal welfare" {#communal}`, `"Implementation and monitoring" {#monitoring}`,
			"## Annex UNIT: Title", "--add-sections"}},
		{"an unknown key", defaults, "## Canteen {#canteen}\ny", 1, []string{"{#canteen} is not a section of the plan", "{#communal}"}},
		{"a section twice", defaults, "## Communal welfare\nx\n## Individual welfare\ny\n## communal welfare\nz", 5,
			[]string{`gives section "communal" (Communal welfare) a second time (first on line 1)`}},
		{"a section twice, by title and by key", defaults, "## Communal welfare\nx\n## Together {#communal}\nz", 3,
			[]string{`section "communal"`, "first on line 1"}},
		{"an annex twice", defaults, "## Annex NORTH\nx\n## Other {#annex/NORTH}\nz", 3, []string{"the annex of unit NORTH a second time (first on line 1)"}},
		{"an annex of another provider's unit", defaults, "## Annex WEST: West\nx", 1, []string{
			"an annex of WEST, which is not a unit of the provider (units: NORTH, SOUTH)", "{#key}"}},
		{"an annex without units", review.ImportBasis{Sections: review.DefaultSections}, "## Annex WEST\nx", 1, []string{"the provider has no units"}},
		{"an annex without text", defaults, "## Communal welfare\nx\n## Annex NORTH\n\n## Individual welfare\ny", 3,
			[]string{"the annex of unit NORTH has no text"}},
		{"a second title", defaults, "# Plan\n## Communal welfare\nx\n# Appendix\ny", 4, []string{`"# Appendix" is a second "# " heading`, "###"}},
		{"a heading without a title", defaults, "## Communal welfare\nx\n##\ny", 3, []string{"a section heading without a title"}},
		{"a heading without a space", defaults, "## Communal welfare\nx\n##Individual welfare\ny", 3,
			[]string{`"##Individual welfare" is not a heading`, `"## Individual welfare"`}},
		{"a section too long", defaults, "## Communal welfare\n" + long, 1, []string{fmt.Sprintf("has %d characters", len(long)), "at most 20000"}},
		{"too many sections", adding, many.String(), 0, []string{fmt.Sprintf("the plan has %d sections", review.MaxSections+len(review.DefaultSections)), "at most 30"}},
		{"an added key that is a known key", adding, "## Communal\ny", 1, []string{`"Communal" would be added as section "communal", the key of "Communal welfare"`, "{#key}"}},
		{"two added titles with one key", adding, "## Digital services\nx\n## Digital: services\ny", 3,
			[]string{`would be added as section "digital_services", the key of the section on line 1`}},
		{"an added title that makes no key", adding, "## ???\nx", 1, []string{`"???" makes no section key`}},
		{"an added key that is not a code", adding, "## Canteen {#can teen}\nx", 1, []string{"{#can teen} is not a section key"}},
		{"an added key without a title", adding, "## {#canteen}\nx", 1, []string{"needs a title"}},
		{"a title too long", adding, "## " + strings.Repeat("t", 201) + " {#long}\nx", 1, []string{"longer than 200 characters"}},
		{"not UTF-8", defaults, "## Communal welfare\n\xff", 0, []string{"not UTF-8"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := review.ParsePlanMarkdown(tt.md, tt.basis)
			var me *review.MarkdownError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *MarkdownError", err)
			}
			if me.Line != tt.line {
				t.Errorf("got line %d, want %d (%v)", me.Line, tt.line, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("got a refusal of more than one line: %q", err)
			}
		})
	}
}

func TestKeyFromTitle(t *testing.T) {
	for _, tt := range []struct{ title, want string }{
		{"Digital welfare services", "digital_welfare_services"},
		{"  Yhteisöllinen   hyvinvointi ", "yhteisollinen_hyvinvointi"},
		{"Åland & Främling", "aland_framling"},
		{"24/7 support", "24_7_support"},
		{"A very long title that goes on and on and on", "a_very_long_title_that_goes_on_a"},
		{"Thirty-one characters long title_", "thirty_one_characters_long_title"},
		{"!!!", ""},
	} {
		if got := review.KeyFromTitle(tt.title); got != tt.want {
			t.Errorf("KeyFromTitle(%q): got %q, want %q", tt.title, got, tt.want)
		}
	}
}
