package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/journal"
)

// The default journal is in the state folder (never beside the config,
// which may be read-only), one per config and shard.
func TestDefaultJournal(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// --journal and --fresh replace a journal, never another file: not the
// config or the items named by mistake, not the file a link points to,
// and not the journal of a run still writing it.
func TestJournalNeverOverwritesOtherFiles(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	conf := fmt.Sprintf("[redis]\nurl = %q\n[[loader]]\nname = \"l\"\nitems = { range = [1, 10] }\nkey = \"l:{{.}}\"\n", srv.URL())
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := cli(t, "--config", cfg, "--plain", "--fresh", "--journal", cfg)
	if b, _ := os.ReadFile(cfg); code != 2 || string(b) != conf || !strings.Contains(stderr, "--fresh replaces only a journal") {
		t.Fatalf("--fresh --journal CONFIG: exit %d, config kept %v\n%s", code, string(b) == conf, stderr)
	}

	// A link at the journal's path is replaced, not followed.
	target := filepath.Join(dir, "elsewhere")
	link := filepath.Join(dir, "j.journal")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "--config", cfg, "--plain", "--journal", link); code != 0 {
		t.Fatalf("journal at a link: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("the link's target was written: %v", err)
	}
	if st, err := os.Lstat(link); err != nil || !st.Mode().IsRegular() {
		t.Errorf("the journal is not a file of its own at %s: %v", link, err)
	}

	// A journal another run holds is left alone.
	held, err := journal.Create(filepath.Join(dir, "held.journal"), warmup.JournalHeader(mustLoad(t, cfg), warmup.Shard{}, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, _, stderr = cli(t, "--config", cfg, "--plain", "--fresh", "--journal", filepath.Join(dir, "held.journal"))
	if code != 2 || !strings.Contains(stderr, "another cachewarm run is writing it") {
		t.Fatalf("a journal in use: exit %d\n%s", code, stderr)
	}
}

func mustLoad(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.LoadConfig(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
