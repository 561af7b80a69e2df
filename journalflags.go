package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/journal"
)

// journalFlags are the flags of the run's journal.
type journalFlags struct {
	path             string
	off, resume, new bool
	// retryFrom is the run's --retry-from report, for the header.
	retryFrom string
}

// check says which journal flags cannot go together.
func (jf journalFlags) check(retryFrom string) error {
	switch {
	case jf.off && (jf.resume || jf.path != "" || jf.new):
		return errors.New("--no-journal goes with none of --journal, --resume, --fresh")
	case jf.resume && jf.new:
		return errors.New("--resume and --fresh are exclusive")
	case jf.resume && retryFrom != "":
		return errors.New("--resume and --retry-from are exclusive: --resume goes on from the journal of a run that did not end")
	}
	return nil
}

// defaultJournal is the journal's path for a config and shard: in the
// user's state folder, since the config's own folder may be read-only (a
// Kubernetes ConfigMap), named after the config and the shard.
func defaultJournal(configPath string, shard warmup.Shard, getenv func(string) string) (string, error) {
	dir := getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("journal: no $XDG_STATE_HOME nor home folder: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	name := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs)) + "-" + hex.EncodeToString(sum[:4])
	if shard.Set() {
		name += fmt.Sprintf("-shard-%d-of-%d", shard.K, shard.N)
	}
	return filepath.Join(dir, "cachewarm", name+".journal"), nil
}

// fileHash is the SHA-256 of the file at path, hex, "" when unreadable.
func fileHash(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// openedJournal is the run's journal, and the unfinished run's it
// resumes.
type openedJournal struct {
	j      *journal.Journal
	replay *journal.Replay
	// commit puts a resumed run's new journal in place of the old one,
	// once it holds what the old one did.
	commit func() error
	// discard closes and removes the new journal of a run that did not
	// start: it has nothing to resume.
	discard func()
}

// openJournal opens the run's journal as the flags say. A journal that
// cannot be written at the default place is said, and the run goes on
// without one; at a chosen place (--journal) it is an error, as are an
// unfinished journal found without --resume or --fresh, and --resume
// with nothing to resume.
func openJournal(jf journalFlags, cfg *config.Config, shard warmup.Shard, getenv func(string) string, stderr io.Writer) (*openedJournal, error) {
	configPath, configHash := cfg.Path, fileHash(cfg.Path)
	if jf.off {
		return &openedJournal{}, nil
	}
	path, chosen := jf.path, jf.path != ""
	if !chosen {
		var err error
		if path, err = defaultJournal(configPath, shard, getenv); err != nil {
			return nil, err
		}
	}
	for _, p := range []string{path, path + ".resuming"} {
		if journal.Busy(p) {
			return nil, fmt.Errorf("--journal %s: %w", p, journal.ErrBusy)
		}
	}
	old, err := journal.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil && (jf.resume || !jf.new):
		return nil, fmt.Errorf("--journal %s: %w (--fresh starts over)", path, err)
	case err != nil:
		// --fresh replaces a journal, never another file named by
		// mistake (the config, the items).
		return nil, fmt.Errorf("--journal %s: %w: --fresh replaces only a journal; remove the file, or choose another --journal", path, err)
	}
	unfinished := old != nil && !old.Ended
	switch {
	case jf.resume && !unfinished:
		return nil, fmt.Errorf("--resume: no unfinished run's journal at %s: nothing to resume", path)
	case jf.resume && old.Header.ConfigHash != configHash:
		return nil, fmt.Errorf("--resume: %s changed since the run of %s started (%s): resuming would mix two configs; --fresh starts over",
			configPath, path, old.Header.Started.Format("2006-01-02 15:04:05Z"))
	case jf.resume && old.Header.RetryFrom != "":
		return nil, fmt.Errorf("--resume: the run of %s was a --retry-from %s, which --resume cannot go on from yet: run that --retry-from again (rewriting keys is harmless), or --fresh",
			path, old.Header.RetryFrom)
	case unfinished && !jf.resume && !jf.new:
		return nil, fmt.Errorf("an unfinished run of %s (started %s) left its journal at %s: `cachewarm --config %s --resume` goes on from it; --fresh starts over",
			configPath, old.Header.Started.Format("2006-01-02 15:04:05Z"), path, configPath)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil && !chosen {
		fmt.Fprintf(stderr, "cachewarm: journal: %v: this run cannot be resumed after a crash (--journal PATH chooses another place)\n", err)
		return &openedJournal{}, nil
	}
	target := path
	if jf.resume {
		// The old journal stays whole until the new one holds its
		// rejections and marks.
		target = path + ".resuming"
	}
	h := warmup.JournalHeader(cfg, shard, configHash)
	h.RetryFrom = jf.retryFrom
	j, err := journal.Create(target, h)
	if err != nil {
		if chosen || jf.resume {
			return nil, fmt.Errorf("--journal: %w", err)
		}
		fmt.Fprintf(stderr, "cachewarm: %v: this run cannot be resumed after a crash (--journal PATH chooses another place)\n", err)
		return &openedJournal{}, nil
	}
	oj := &openedJournal{j: j, commit: func() error { return nil }, discard: func() { j.Close(); os.Remove(target) }}
	if jf.resume {
		oj.replay = old
		oj.commit = func() error { return os.Rename(target, path) }
	}
	return oj, nil
}
