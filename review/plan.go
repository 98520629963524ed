package review

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// PlanContent is the text of a plan version or draft, section by section in
// the plan's order, then the units' annexes in unit code order.
type PlanContent struct {
	Sections []SectionText `json:"sections"`
	// Annexes are the units' own arrangements (see Annex). Omitted when
	// empty, so that content without annexes encodes, and hashes, exactly
	// as it did before annexes existed: signatures and published versions
	// are bound to those hashes.
	Annexes []Annex `json:"annexes,omitempty"`
}

// SectionText is one section of a plan with its current wording.
type SectionText struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Hash is the SHA-256 of the content's canonical JSON, in hex. Sign-offs and
// approvals are bound to it, so a signature always names the exact text signed.
func (c PlanContent) Hash() string {
	// Marshalling a struct of strings cannot fail, and its field order is fixed,
	// which makes the encoding canonical.
	b, err := json.Marshal(c)
	if err != nil {
		panic("plan content does not encode: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Keys lists the content's section keys in order.
func (c PlanContent) Keys() []string {
	keys := make([]string, len(c.Sections))
	for i, s := range c.Sections {
		keys[i] = s.Key
	}
	return keys
}

// Outline returns the sections (key and title) of the content.
func (c PlanContent) Outline() []Section {
	out := make([]Section, len(c.Sections))
	for i, s := range c.Sections {
		out[i] = Section{Key: s.Key, Title: s.Title}
	}
	return out
}

// Reshape lays the content out on the given sections: a section keeps its
// text if the content has it, a new section starts empty, and a section the
// list no longer names is dropped. The annexes are kept as they are: they
// belong to units, not to the sections a cycle is configured with. With no
// sections, the content is kept as is.
func (c PlanContent) Reshape(sections []Section) PlanContent {
	if len(sections) == 0 {
		return c
	}
	text := make(map[string]string, len(c.Sections))
	for _, s := range c.Sections {
		text[s.Key] = s.Text
	}
	out := PlanContent{Sections: make([]SectionText, len(sections)), Annexes: c.cloneAnnexes()}
	for i, s := range sections {
		out.Sections[i] = SectionText{Key: s.Key, Title: s.Title, Text: text[s.Key]}
	}
	return out
}

// Apply returns the content with each change's text as the new wording of its
// section or annex. Changes must already be validated (Draft.Check: one per
// section, known sections, annexes of the provider's units). A change to the
// annex of a unit that has none creates it, titled after the unit's name as
// units gives it ("North Campus annex"; the unit's code when units does not
// name it). units is variadic so that callers whose changes touch no annex
// need not name them.
func (c PlanContent) Apply(changes []Change, units ...Unit) PlanContent {
	out := PlanContent{Sections: make([]SectionText, len(c.Sections)), Annexes: c.cloneAnnexes()}
	copy(out.Sections, c.Sections)
	for _, ch := range changes {
		if unit, ok := AnnexUnit(ch.Section); ok {
			out.setAnnex(unit, ch.Text, units)
			continue
		}
		for i := range out.Sections {
			if out.Sections[i].Key == ch.Section {
				out.Sections[i].Text = ch.Text
			}
		}
	}
	return out
}
