package review

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/oho-dev/oho/check"
)

// Limits of an imported plan. They are the limits a plan has inside OHO, so
// that an imported plan can go through a cycle: a draft's change gives a
// section's whole new wording in at most MaxSectionText characters (the
// max=20000 of Change.Text), a cycle config names at most MaxSections
// sections (Config.Sections) with titles of at most MaxTitle characters
// (Section.Title).
const (
	MaxSectionText = 20000
	MaxSections    = 30
	MaxTitle       = 200
)

// ImportBasis is what a plan written in Markdown is read against.
type ImportBasis struct {
	// Sections are the plan's known sections: those of the version in force,
	// or DefaultSections for a provider without one.
	Sections []Section
	// Units are the provider's units, whose annexes the file may hold.
	Units []Unit
	// AddSections lets a heading that names no known section add one; without
	// it such a heading is refused.
	AddSections bool
}

// ImportedPlan is a plan read from Markdown.
type ImportedPlan struct {
	// Title is the document's "# " title, if it has one. It is not part of
	// the plan's content: the handbook is titled with the provider's name.
	Title   string
	Content PlanContent
	// Added are the keys of the sections the file added (AddSections).
	Added []string
	// Empty are the keys of the sections without text: headings with nothing
	// under them, and known sections the file does not have.
	Empty []string
}

// MarkdownError is a refusal of a Markdown plan: the line it is about (0 for
// the document as a whole) and what is wrong, in one line.
type MarkdownError struct {
	Line int
	Msg  string
}

func (e *MarkdownError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

func mdErrorf(line int, format string, args ...any) error {
	return &MarkdownError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

var (
	// atxHeading is a Markdown heading of any level: up to three spaces, the
	// #s, then a space and the text, or nothing.
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	// closingHashes is the optional closing sequence of a heading ("## A ##").
	closingHashes = regexp.MustCompile(`(?:^|[ \t]+)#+$`)
	// explicitKey is a heading's "{#key}" at its end.
	explicitKey = regexp.MustCompile(`^(.*?)[ \t]*\{#([^{}]*)\}$`)
	// annexHeading is "Annex NORTH" or "Annex NORTH: Title".
	annexHeading = regexp.MustCompile(`(?i)^annex[ \t]+([A-Za-z0-9][A-Za-z0-9_-]*)[ \t]*(?::[ \t]*(.*))?$`)
	// sectionNumber is a heading's leading number, such as "2." or "3.1".
	sectionNumber = regexp.MustCompile(`^(?:[0-9]+(?:\.[0-9]+)*[.)]|[0-9]+(?:\.[0-9]+)+)[ \t]+`)
	// unspacedHeading is "##Title", which Markdown reads as text although
	// its writer almost surely meant a heading.
	unspacedHeading = regexp.MustCompile(`^ {0,3}##[^#\s]`)
	// fence opens or closes a fenced code block.
	fence = regexp.MustCompile("^ {0,3}(```+|~~~+)")
)

// heading is a "## " heading of the file, resolved to a section or an annex.
type heading struct {
	line  int
	key   string // a section key, or AnnexKey(unit)
	unit  string // set for an annex
	title string
	added bool
	text  []string
}

// ParsePlanMarkdown reads a plan written in Markdown, the format in which a
// provider that adopts OHO brings its current plan (README, "Importing the
// current plan"):
//
//   - An optional "# Title" first: the document's title, not part of the
//     content.
//   - Then one "## " heading per section, its text below it. The text is
//     kept as written, trimmed of blank lines and spaces around it; "###"
//     and deeper headings, lists and emphasis inside it are the writer's
//     Markdown and stay text, as does anything in a fenced code block.
//   - A heading names a known section by its title, compared without
//     regard to case and spacing and ignoring a leading number ("2.
//     Communal welfare"); the section keeps its known title. Or by its key
//     at the end, "## Communal welfare at Harjula {#communal}", when the
//     heading's text becomes the section's title.
//   - "## Annex NORTH: Title", or "## Title {#annex/NORTH}", is the annex of
//     unit NORTH (without a title: "<unit name> annex").
//   - A heading that names nothing known is refused, listing the known
//     titles and keys, unless basis.AddSections is set: then it adds a
//     section keyed by its "{#key}" or by a key made from its title
//     ("Digital services" → "digital_services"), which must not be another
//     section's.
//
// The file is the whole plan. The sections come in the file's order; a
// known section the file lacks follows them, empty, and so does one whose
// heading has no text: Empty lists both. An annex the file lacks is not in
// the plan; an annex heading without text is refused. Also refused, each in
// one line naming the line: text before the first section, a document with
// no section, a section or annex given twice, a "# " heading after the
// sections began, a heading without a title, a section over MaxSectionText
// characters, more than MaxSections sections, and text that is not UTF-8.
func ParsePlanMarkdown(markdown string, basis ImportBasis) (ImportedPlan, error) {
	if !utf8.ValidString(markdown) || strings.ContainsRune(markdown, 0) {
		return ImportedPlan{}, mdErrorf(0, "the document is not UTF-8 text")
	}
	markdown = strings.TrimPrefix(markdown, "\uFEFF")
	markdown = strings.ReplaceAll(strings.ReplaceAll(markdown, "\r\n", "\n"), "\r", "\n")
	r := reader{basis: basis, seen: map[string]int{}}
	var out ImportedPlan
	var cur *heading
	var headings []*heading
	inFence := ""
	for i, line := range strings.Split(markdown, "\n") {
		n := i + 1
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1][:1]
			case strings.HasPrefix(m[1], inFence):
				inFence = ""
			}
		} else if inFence == "" {
			if unspacedHeading.MatchString(line) {
				return ImportedPlan{}, mdErrorf(n, "%s is not a heading, for want of a space after the #s: write \"## %s\", or \\# if it is text", check.Quote(line), excerpt(strings.TrimLeft(strings.TrimSpace(line), "#")))
			}
			if m := atxHeading.FindStringSubmatch(line); m != nil {
				text := strings.TrimSpace(closingHashes.ReplaceAllString(m[2], ""))
				switch level := len(m[1]); {
				case level == 1 && cur == nil && out.Title == "" && len(headings) == 0:
					if text == "" {
						return ImportedPlan{}, mdErrorf(n, "the \"# \" title line has no title")
					}
					out.Title = text
					continue
				case level == 1:
					return ImportedPlan{}, mdErrorf(n, "%s is a second \"# \" heading: the document may open with one \"# \" title, sections are \"## \" headings, and \"###\" and deeper are kept as text", check.Quote(line))
				case level == 2:
					h, err := r.resolve(n, text)
					if err != nil {
						return ImportedPlan{}, err
					}
					cur = h
					headings = append(headings, h)
					continue
				}
			}
		}
		if cur == nil {
			if strings.TrimSpace(line) != "" {
				return ImportedPlan{}, mdErrorf(n, "text before the first section heading (%q): every paragraph belongs under a \"## Section title\" heading", excerpt(line))
			}
			continue
		}
		cur.text = append(cur.text, line)
	}
	if len(headings) == 0 {
		return ImportedPlan{}, mdErrorf(0, "the document has no section headings: write each section as \"## Section title\" with its text below it")
	}

	var annexes []Annex
	for _, h := range headings {
		text := strings.TrimSpace(strings.Join(h.text, "\n"))
		if n := utf8.RuneCountInString(text); n > MaxSectionText {
			return ImportedPlan{}, mdErrorf(h.line, "%q has %d characters; a section or annex may have at most %d, the most a draft's change can give", h.title, n, MaxSectionText)
		}
		if h.unit != "" {
			if text == "" {
				return ImportedPlan{}, mdErrorf(h.line, "the annex of unit %s has no text: leave its heading out if the unit has no annex of its own", h.unit)
			}
			annexes = append(annexes, Annex{Unit: h.unit, Title: h.title, Text: text})
			continue
		}
		out.Content.Sections = append(out.Content.Sections, SectionText{Key: h.key, Title: h.title, Text: text})
		if h.added {
			out.Added = append(out.Added, h.key)
		}
	}
	for _, s := range basis.Sections {
		if _, ok := r.seen[s.Key]; !ok {
			out.Content.Sections = append(out.Content.Sections, SectionText{Key: s.Key, Title: s.Title})
		}
	}
	if n := len(out.Content.Sections); n > MaxSections {
		return ImportedPlan{}, mdErrorf(0, "the plan has %d sections (with the known ones the file lacks); a plan may have at most %d", n, MaxSections)
	}
	for _, s := range out.Content.Sections {
		if s.Text == "" {
			out.Empty = append(out.Empty, s.Key)
		}
	}
	slices.SortFunc(annexes, func(a, b Annex) int { return strings.Compare(a.Unit, b.Unit) })
	out.Content.Annexes = annexes
	return out, nil
}

// reader resolves the headings of one document.
type reader struct {
	basis ImportBasis
	// seen maps each section key (or annex key) given so far to its line.
	seen map[string]int
}

// resolve turns a "## " heading's text into the section or annex it names.
func (r *reader) resolve(line int, text string) (*heading, error) {
	if text == "" {
		return nil, mdErrorf(line, "a section heading without a title")
	}
	h := &heading{line: line}
	name, key, explicit := text, "", false
	if m := explicitKey.FindStringSubmatch(text); m != nil {
		name, key, explicit = strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), true
	}
	var err error
	switch m := annexHeading.FindStringSubmatch(name); {
	case explicit:
		err = r.byKey(h, name, key)
	case r.knownTitle(h, name):
	case m != nil:
		err = r.annex(h, m[1], strings.TrimSpace(m[2]), false)
	default:
		err = r.add(h, name)
	}
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(h.title) > MaxTitle {
		return nil, mdErrorf(line, "the title %q is longer than %d characters", h.title, MaxTitle)
	}
	if first, ok := r.seen[h.key]; ok {
		what := fmt.Sprintf("section %q (%s)", h.key, h.title)
		if h.unit != "" {
			what = "the annex of unit " + h.unit
		}
		return nil, mdErrorf(line, "%s gives %s a second time (first on line %d)", check.Quote(text), what, first)
	}
	r.seen[h.key] = line
	return h, nil
}

// byKey resolves a heading with an explicit "{#key}".
func (r *reader) byKey(h *heading, name, key string) error {
	if unit, ok := AnnexUnit(key); ok {
		return r.annex(h, unit, name, true)
	}
	if i := slices.IndexFunc(r.basis.Sections, func(s Section) bool { return s.Key == key }); i >= 0 {
		h.key, h.title = key, name
		if name == "" {
			h.title = r.basis.Sections[i].Title
		}
		return nil
	}
	if !r.basis.AddSections {
		return mdErrorf(h.line, "{#%s} is not a section of the plan; %s", key, r.known())
	}
	if !check.Code(key) {
		return mdErrorf(h.line, "{#%s} is not a section key (1-32 letters, digits, '-' or '_')", key)
	}
	if name == "" {
		return mdErrorf(h.line, "the new section {#%s} needs a title before its key", key)
	}
	h.key, h.title, h.added = key, name, true
	return nil
}

// knownTitle resolves a heading by the title of a known section, with or
// without its leading number, and reports whether it found one.
func (r *reader) knownTitle(h *heading, name string) bool {
	bare := sectionNumber.ReplaceAllString(name, "")
	for _, s := range r.basis.Sections {
		if fold(s.Title) == fold(bare) || fold(s.Title) == fold(name) {
			h.key, h.title = s.Key, s.Title
			return true
		}
	}
	return false
}

// add adds the section a heading that names nothing known stands for, when
// the basis allows it, keyed after its title.
func (r *reader) add(h *heading, name string) error {
	bare := sectionNumber.ReplaceAllString(name, "")
	if !r.basis.AddSections {
		return mdErrorf(h.line, "%s is not a section of the plan; %s", check.Quote(name), r.known())
	}
	key := KeyFromTitle(bare)
	if key == "" {
		return mdErrorf(h.line, "%s makes no section key: give the new section one with {#key}", check.Quote(name))
	}
	if i := slices.IndexFunc(r.basis.Sections, func(s Section) bool { return s.Key == key }); i >= 0 {
		return mdErrorf(h.line, "%s would be added as section %q, the key of %q: give it a key of its own with {#key}", check.Quote(name), key, r.basis.Sections[i].Title)
	}
	if first, ok := r.seen[key]; ok {
		return mdErrorf(h.line, "%s would be added as section %q, the key of the section on line %d: give it a key of its own with {#key}", check.Quote(name), key, first)
	}
	h.key, h.title, h.added = key, bare, true
	return nil
}

// annex resolves the annex heading of a unit, named by its code in any
// case; explicit says the heading named it by its key ("{#annex/NORTH}").
func (r *reader) annex(h *heading, code, title string, explicit bool) error {
	i := slices.IndexFunc(r.basis.Units, func(u Unit) bool { return strings.EqualFold(u.Code, code) })
	if i < 0 {
		codes := make([]string, len(r.basis.Units))
		for i, u := range r.basis.Units {
			codes[i] = u.Code
		}
		units := "the provider has no units"
		if len(codes) > 0 {
			units = "units: " + strings.Join(codes, ", ")
		}
		hint := ""
		if !explicit {
			hint = "; a section whose title starts with \"Annex\" needs its key, \"{#key}\""
		}
		return mdErrorf(h.line, "an annex of %s, which is not a unit of the provider (%s)%s", code, units, hint)
	}
	u := r.basis.Units[i]
	h.unit, h.key, h.title = u.Code, AnnexKey(u.Code), title
	if title == "" {
		h.title = AnnexTitle(u)
	}
	return nil
}

// known lists the known sections for a refusal, with how to name them.
func (r *reader) known() string {
	names := make([]string, len(r.basis.Sections))
	for i, s := range r.basis.Sections {
		names[i] = fmt.Sprintf("%q {#%s}", s.Title, s.Key)
	}
	return "the known sections are " + strings.Join(names, ", ") +
		"; a unit's annex is \"## Annex UNIT: Title\"; to add a section, import with new sections allowed (--add-sections, or add_sections in the API)"
}

// excerpt is the start of a line, for a refusal that quotes it.
func excerpt(line string) string {
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) <= 40 {
		return line
	}
	return string([]rune(line)[:40]) + "…"
}

// fold is a title as headings are compared: lower case, single spaces.
func fold(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// transliterations spell the letters of Finnish, Swedish and the commonest
// other European titles in ASCII for keys.
var transliterations = map[rune]string{
	'ä': "a", 'å': "a", 'á': "a", 'à': "a", 'â': "a", 'ö': "o", 'ø': "o", 'ó': "o", 'ò': "o", 'ô': "o",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'ü': "u", 'ú': "u", 'ù': "u", 'í': "i", 'ì': "i", 'ï': "i",
	'æ': "ae", 'ß': "ss", 'š': "s", 'ž': "z", 'ç': "c", 'ñ': "n",
}

// KeyFromTitle makes the key of a section added from a title: lower case
// ASCII letters and digits, each run of anything else one '_', at most 32
// characters ("Digital welfare services" → "digital_welfare_services",
// "Yhteisöllinen hyvinvointi" → "yhteisollinen_hyvinvointi"). It is "" when
// the title has no letter or digit to make one from.
func KeyFromTitle(title string) string {
	var b strings.Builder
	gap := false
	for _, c := range strings.ToLower(title) {
		s := string(c)
		if t, ok := transliterations[c]; ok {
			s = t
		} else if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte('_')
		}
		gap = false
		b.WriteString(s)
	}
	key := b.String()
	if len(key) > 32 {
		key = strings.TrimRight(key[:32], "_")
	}
	return key
}
