package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// defaultConfigPath is --config's default, and where `cachewarm init`
// writes.
const defaultConfigPath = "config.toml"

// initCommand is `cachewarm init [--file F] [--url U] [PATH]`: a commented
// starter config for a file of items, fetched or not, into the Redis of
// $REDIS_URL.
func initCommand(stdout, stderr io.Writer) *cobra.Command {
	var file, url string
	cmd := &cobra.Command{
		Use:   "init [PATH]",
		Short: "Write a commented starter config (config.toml) for a file of items",
		Long: "Write a commented starter config at PATH (default config.toml): the items of a file, " +
			"each fetched from --url or stored as it is, written into the Redis of $REDIS_URL with " +
			"a key template and a TTL. An existing file is never overwritten.",
		Example: "  cachewarm init --file products.jsonl --url 'https://api.example.com/products/{{.id}}'\n" +
			"  cachewarm --dry-run",
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := defaultConfigPath
			if len(args) == 1 {
				path = args[0]
			}
			return writeStarterConfig(path, file, url, stdout, stderr)
		},
	}
	cmd.Flags().StringVar(&file, "file", "items.jsonl", "the items: one JSON object a line (.jsonl), or a .csv/.tsv file with a header")
	cmd.Flags().StringVar(&url, "url", "", "fetch each item's value from this URL template ({{.id}} is the item's id field);\nwithout it, the item itself is the value")
	return cmd
}

// writeStarterConfig writes the starter config at path, which must not
// exist yet, and says what to do next.
func writeStarterConfig(path, items, url string, stdout, stderr io.Writer) error {
	if strings.TrimSpace(items) == "" {
		return errors.New("init: --file is empty: give the file of items (items.jsonl)")
	}
	// The config reads its items relative to its own folder.
	rel := items
	if !filepath.IsAbs(items) {
		if r, err := relativeTo(filepath.Dir(path), items); err == nil {
			rel = r
		}
	}
	text := starterConfig(rel, url)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("init: %s exists, and init does not overwrite it: name another file (cachewarm init new.toml), or move it away", path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		return fmt.Errorf("init: %s: the folder %s does not exist: create it (mkdir -p %s), or name another path", path, dir, shellWord(dir))
	}
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if _, err = io.WriteString(out, text); err == nil {
		err = out.Close()
	} else {
		out.Close()
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("init: writing %s: %w", path, err)
	}
	run := "cachewarm"
	if path != defaultConfigPath {
		run += " --config " + shellWord(path)
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	if _, err := os.Stat(items); err != nil {
		fmt.Fprintf(stderr, "cachewarm: %s does not exist yet: it holds the items, one JSON object a line\n", items)
	}
	fmt.Fprintf(stdout, "next: export REDIS_URL=redis://HOST:6379/0, edit the key template and ttl, then\n  %s --dry-run   (the first keys, URLs and values; writes nothing)\n  %s             (the run)\n", run, run)
	return nil
}

// relativeTo is target, relative to the working directory, as a path
// relative to dir.
func relativeTo(dir, target string) (string, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	return filepath.Rel(absDir, absTarget)
}

// starterConfig is the text of the starter config: items is the file of
// items, url the fetch's URL template ("" for none).
func starterConfig(items, url string) string {
	name := loaderName(items)
	fetch := `# No fetch: the item itself (its fields as JSON) is the value. To store an
# API's answer for each item instead:
# fetch = { url = "https://api.example.com/items/{{.id}}" }`
	if url != "" {
		fetch = `# Each item's value is the body fetched from this URL; an error answer
# rejects the item, with its reason in the report.
fetch = { url = ` + strconv.Quote(url) + ` }`
	}
	return `# cachewarm config, written by ` + "`cachewarm init`" + `. Check it with
#   cachewarm --dry-run
# (the keys, URLs and values of the first items; nothing is written), then
# run it with ` + "`cachewarm`" + `. The configuration reference (README.md,
# docs/) has every key.

[redis]
# From the environment, so that a password stays out of this file:
#   export REDIS_URL=redis://user:password@host:6379/0   (rediss:// for TLS)
# --redis URL or $CACHEWARM_REDIS_URL override it.
url = "${REDIS_URL}"

[run]
concurrency = 16     # fetches in flight at once
timeout = "2s"       # one fetch, or one pipeline of writes
retries = 2          # automatic retries of a transient failure
ttl = "1h"           # every key's TTL; "0" = no expiry

[[loader]]
name = ` + strconv.Quote(name) + `
# One JSON object a line ({"id": 1, ...}); a .csv or .tsv file's header names
# the fields. The path is relative to this file.
items = { file = ` + strconv.Quote(items) + ` }
# The Redis key of each item: {{.id}} is its id field.
key = "` + name + `:{{.id}}"
` + fetch + `
# ttl = "30m"        # this loader's own TTL, over [run].ttl
`
}

// loaderName is a loader name from the items file's name: products for
// data/products.jsonl, items when the name has nothing usable.
func loaderName(items string) string {
	base := filepath.Base(items)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "items"
	}
	return b.String()
}
