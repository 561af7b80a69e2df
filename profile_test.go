package main

import "testing"

// The GC ballast is cachewarm's default; GOGC or GOMEMLIMIT in the
// environment mean the user chose, and then there is none.
func TestTuneGCLeavesTheEnvironmentsChoice(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		ballast bool
	}{
		{"defaults", nil, true},
		{"GOGC set", map[string]string{"GOGC": "200"}, false},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "64MiB"}, false},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "64MiB"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tuneGC(func(k string) string { return tc.env[k] })
			if got := len(b) == gcBallast; got != tc.ballast {
				t.Errorf("ballast of %d bytes, want ballast %v", len(b), tc.ballast)
			}
		})
	}
}
