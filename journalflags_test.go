package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup"
)

// The default journal is in the state folder (never beside the config,
// which may be read-only), one per config and shard.
func TestDefaultJournal(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	state := t.TempDir()
	a, err := defaultJournal("/etc/cw/config.toml", warmup.Shard{}, env(map[string]string{"XDG_STATE_HOME": state}))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(a) != filepath.Join(state, "cachewarm") || !strings.HasPrefix(filepath.Base(a), "config-") || !strings.HasSuffix(a, ".journal") {
		t.Fatalf("journal at %s", a)
	}
	b, _ := defaultJournal("/srv/other/config.toml", warmup.Shard{}, env(map[string]string{"XDG_STATE_HOME": state}))
	sh, _ := warmup.ParseShard("1/3")
	c, _ := defaultJournal("/etc/cw/config.toml", sh, env(map[string]string{"XDG_STATE_HOME": state}))
	if a == b || a == c || !strings.Contains(c, "-shard-1-of-3") {
		t.Fatalf("journals not apart: %s, %s, %s", a, b, c)
	}
}

func TestJournalFlagsExclusive(t *testing.T) {
	for _, tc := range []struct {
		jf        journalFlags
		retryFrom string
	}{
		{journalFlags{off: true, resume: true}, ""},
		{journalFlags{off: true, path: "j"}, ""},
		{journalFlags{resume: true, new: true}, ""},
		{journalFlags{resume: true}, "r.json"},
	} {
		if err := tc.jf.check(tc.retryFrom); err == nil {
			t.Errorf("%+v with --retry-from %q: no error", tc.jf, tc.retryFrom)
		}
	}
}
