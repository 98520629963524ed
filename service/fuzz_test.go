package service

import (
	"encoding/json"
	"testing"

	"github.com/oho-dev/oho/review"
)

// The fuzz targets of the inputs people write: outcomes of every kind, a
// cycle's config, an organisation file. 'make fuzz' runs each for a while;
// 'make test' runs their seeds. None may panic, and what a check accepts
// must be accepted again once written back as JSON (the form it is stored
// and sent in).

var outcomeSeeds = []string{
	`{"indicators":[{"name":"Wellbeing","value":3.7,"target":4,"unit":"1-5"}],"findings":[{"id":"F1","section":"communal","severity":"major","text":"Gaps","recommendation":"Rota"}]}`,
	`{"indicators":[{"code":"SAFE","value":80},{"code":"ABSENT","not_measured":true,"reason":"Register moved"}],"effectiveness":[{"change_id":"C1","rating":"partly","note":"x"}]}`,
	`{"method":"survey","participants":48,"held_on":"2026-03-10","feedback":[{"id":"S1","section":"individual","text":"Hours"}]}`,
	`{"changes":[{"id":"C1","section":"communal","text":"New","rationale":"Why","addresses":["NORTH/F1"]}],"dispositions":[{"item":"NORTH/F1","decision":"addressed","change":"C1"},{"item":"2026/FOREST/S1","decision":"deferred","reason":"Budget"}],"coverage":[{"item":"crises_threats","reason":"Elsewhere"}]}`,
	`{"decision":"request_changes","comment":"Name the owner","version_hash":"` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"}`,
	`{"decision":"approve","effective_from":"2026-08-01"}`,
	`{"findings":[{"id":"F1","section":"communal","severity":"info","text":"a\u0000b"}]}`,
	`{"findings":[{"id":"F1","section":"communal","severity":"info","text":1e400}]}`,
	`{"findings":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}`,
	`{"participants":-9223372036854775809}`,
	`{"a":1,"a":2}`,
	``, `null`, `[]`, `"x"`,
}

var kinds = []review.TaskKind{review.KindEvaluate, review.KindConsult, review.KindDraft, review.KindSignOff, review.KindApprove}

func FuzzOutcome(f *testing.F) {
	for _, s := range outcomeSeeds {
		for k := range kinds {
			f.Add(uint8(k), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, raw []byte) {
		kind := kinds[int(k)%len(kinds)]
		if checkOutcome("T", kind, raw) != nil {
			return
		}
		v, err := outcomeOf(kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("accepted %s outcome %q does not decode: %v", kind, raw, err)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkOutcome("T", kind, again); err != nil && len(again) <= MaxOutcome {
			t.Fatalf("accepted %s outcome %q refused once written back as %s: %v", kind, raw, again, err)
		}
	})
}

func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		`{"phases":{"evaluate":"2h","consult":"2h","update":"1h","signoff":"1h","approve":"1h"}}`,
		`{"max_rounds":3,"checklist_reasons":true,"reminders":{"before":"1h","every":"30m"}}`,
		`{"indicators":[{"code":"SAFE","name_fi":"Turvallisuus","name_en":"Safe","unit_of_measure":"%","target":85,"unit_targets":[{"unit":"NORTH","target":80}]}]}`,
		`{"sections":[{"key":"communal","title":"Communal"}],"checklist":[{"id":"x","section":"communal","fi":"a","en":"b"}]}`,
		`{"phases":{"evaluate":"-1h"}}`, `{"max_rounds":1e99}`, `{"indicators":[{"code":"A","target":null}]}`, ``, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := DecodeConfig(raw, "the config")
		if err != nil {
			return
		}
		again, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeConfig(again, "the config"); err != nil {
			t.Fatalf("accepted config %q refused once written back as %s: %v", raw, again, err)
		}
	})
}

func FuzzOrg(f *testing.F) {
	for _, s := range []string{
		`{"provider":{"code":"ACME","name":"Acme"},"units":[{"code":"NORTH","name":"North"}],"people":[{"id":"a.b","name":"A","email":"a@b.fi","roles":[{"role":"manager","unit":""}]}]}`,
		`{"provider":{"code":"ACME","name":"Acme","time_zone":"Europe/Stockholm"},"units":[{"code":"N","name":"N"}],"people":[{"id":"x","name":"X","oidc_subject":"s","roles":[{"role":"unit_head","unit":"N"}]}]}`,
		`{"provider":{"code":"A B","name":""},"units":[],"people":[]}`, `{"provider":{"code":"ACME","name":"A","time_zone":"Mars/Base"}}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		org, err := DecodeOrg(raw, "the org")
		if err != nil {
			return
		}
		again, err := json.Marshal(org)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeOrg(again, "the org"); err != nil {
			t.Fatalf("accepted org %q refused once written back as %s: %v", raw, again, err)
		}
	})
}
