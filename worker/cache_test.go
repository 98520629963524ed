package main

import "testing"

func TestParseWorkflowCache(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		want    int
		wantErr bool
	}{
		{raw: "", want: defaultWorkflowCache},
		{raw: "  ", want: defaultWorkflowCache},
		{raw: "0", want: 0},
		{raw: "500", want: 500},
		{raw: " 2000\n", want: 2000},
		{raw: "100000", want: 100_000},
		{raw: "100001", wantErr: true},
		{raw: "-1", wantErr: true},
		{raw: "1k", wantErr: true},
		{raw: "1e3", wantErr: true},
		{raw: "10,000", wantErr: true},
	} {
		got, err := parseWorkflowCache(tc.raw)
		if tc.wantErr {
			if err == nil {
				t.Errorf("parseWorkflowCache(%q) = %d, want an error", tc.raw, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseWorkflowCache(%q) = %d, %v; want %d", tc.raw, got, err, tc.want)
		}
	}
}

func TestWorkflowCacheFromEnv(t *testing.T) {
	t.Setenv("OHO_WORKFLOW_CACHE", "250")
	if got, err := workflowCacheFromEnv(); err != nil || got != 250 {
		t.Errorf("with OHO_WORKFLOW_CACHE=250: got %d, %v; want 250", got, err)
	}
	t.Setenv("OHO_WORKFLOW_CACHE", "many")
	if _, err := workflowCacheFromEnv(); err == nil {
		t.Error("with OHO_WORKFLOW_CACHE=many: got no error")
	}
}
