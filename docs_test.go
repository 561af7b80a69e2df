package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/cachewarm/cachewarm/demo"
	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// The documentation is README.md and the pages under docs/. Its TOML
// blocks, cachewarm command lines, links and anchors are checked here, so
// that a page which drifts from the program fails a test instead of a
// reader.

// readmeLimit is the README's budget: what a newcomer reads in five
// minutes. The rest belongs in docs/.
const readmeLimit = 15 * 1024

// docFence is a fenced block of a page: its language, the line its first
// content line is on, its text, and the line before its opening fence
// (where a <!-- fragment --> marker goes).
type docFence struct {
	file, lang, text, before string
	line                     int
}

// docPages are the pages checked: README.md and docs/*.md.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no docs/*.md")
	}
	return append([]string{"README.md"}, pages...)
}

// docFences returns every fenced block of the page.
func docFences(t *testing.T, page string) []docFence {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var fences []docFence
	var cur *docFence
	var body strings.Builder
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docFence{file: page, lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: i + 2}
			if i > 0 {
				cur.before = strings.TrimSpace(lines[i-1])
			}
			body.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = body.String()
			fences = append(fences, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: a fence that is never closed", page, cur.line-1)
	}
	return fences
}

// The README stays short, and every relative link and #anchor of the
// README and docs/ leads somewhere: moving a section cannot leave a dead
// link behind.
func TestDocsLinks(t *testing.T) {
	t.Parallel()
	fi, err := os.Stat("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > readmeLimit {
		t.Errorf("README.md is %d bytes; the budget is %d: move the detail into docs/", fi.Size(), readmeLimit)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, page := range docPages(t) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(withoutFences(string(b)), "\n") {
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				file := page
				if path != "" {
					file = filepath.Join(filepath.Dir(page), path)
					if _, err := os.Stat(file); err != nil {
						t.Errorf("%s:%d: link %s: %v", page, n+1, target, err)
						continue
					}
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(file, ".md") {
					t.Errorf("%s:%d: link %s: an anchor into a file that is not markdown", page, n+1, target)
					continue
				}
				if !headingAnchors(t, file)[anchor] {
					t.Errorf("%s:%d: link %s: %s has no heading with the anchor #%s", page, n+1, target, file, anchor)
				}
			}
		}
	}
}

// withoutFences blanks the lines of fenced blocks, keeping the line count,
// so that code is not read as links or headings.
func withoutFences(s string) string {
	lines := strings.Split(s, "\n")
	in := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			in = !in
			lines[i] = ""
			continue
		}
		if in {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// headingAnchors are the anchors GitHub gives the page's headings: lower
// case, punctuation dropped, spaces as hyphens, a repeated one suffixed
// -1, -2….
func headingAnchors(t *testing.T, page string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(withoutFences(string(b)), "\n") {
		text, ok := strings.CutPrefix(line, "#")
		if !ok {
			continue
		}
		text = strings.TrimLeft(text, "#")
		if !strings.HasPrefix(text, " ") {
			continue
		}
		var slug strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case r == ' ':
				slug.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				slug.WriteRune(r)
			}
		}
		s := slug.String()
		if n := seen[s]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	return anchors
}

// docEnv stands in for the environment of a reader who set what the
// pages' ${VAR}s ask for: a Redis URL where one is expected, a token
// elsewhere. Nothing connects to it.
func docEnv(name string) (string, bool) {
	if strings.Contains(name, "REDIS_URL") {
		return "redis://127.0.0.1:1/0", true
	}
	return "doc-test-" + strings.ToLower(name), true
}

// docFragmentLoader completes a block marked <!-- fragment -->: a lone
// [redis] or [run] table shown on its own loads once a loader is there to
// use it. A block that shows a loader is a whole config and is loaded as
// written, so that a reader can copy it.
const docFragmentLoader = `
[[loader]]
name = "docs-fragment"
items = { list = ["a"] }
key = "k:{{.}}"
`

// Every ```toml block of the README and docs/ loads with the real config
// loader (and the demo's extension, as the binary loads configs): an
// unknown key, a bad value or a template that does not parse fails here.
// The files a block names are created, and a sitemap URL is served from a
// test origin, since the loader reads both before it accepts a config.
func TestDocsTOML(t *testing.T) {
	t.Parallel()
	fileRef := regexp.MustCompile(`\bfile\s*=\s*"([^"]+)"`)
	sitemapRef := regexp.MustCompile(`\bsitemap\s*=\s*"(https?://[^"]+)"`)
	sitemaps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://%s/home</loc></url></urlset>`, r.Host)
	}))
	defer sitemaps.Close()
	blocks := 0
	for _, page := range docPages(t) {
		for _, f := range docFences(t, page) {
			if f.lang != "toml" {
				continue
			}
			blocks++
			name := fmt.Sprintf("%s:%d", f.file, f.line)
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				text := f.text
				if f.before == "<!-- fragment -->" {
					if strings.Contains(text, "[[loader]]") {
						t.Fatal("a block marked <!-- fragment --> shows a loader: show it whole instead")
					}
					text += docFragmentLoader
				}
				for _, m := range fileRef.FindAllStringSubmatch(text, -1) {
					writeDocItems(t, filepath.Join(dir, m[1]))
				}
				for _, m := range sitemapRef.FindAllStringSubmatch(text, -1) {
					text = strings.ReplaceAll(text, m[1], sitemaps.URL+"/sitemap.xml")
				}
				cfgPath := filepath.Join(dir, "config.toml")
				if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				opts := demo.NewExtension().Options()
				opts.Getenv = docEnv
				cfg, err := config.LoadConfig(cfgPath, opts)
				if err != nil {
					// Name the page's line, not the temporary file's.
					msg := regexp.MustCompile(regexp.QuoteMeta(cfgPath)+`:(\d+)`).ReplaceAllStringFunc(err.Error(), func(m string) string {
						var n int
						fmt.Sscanf(m[len(cfgPath)+1:], "%d", &n)
						return fmt.Sprintf("%s:%d", f.file, f.line+n-1)
					})
					t.Fatalf("the ```toml block does not load: %s\n%s", msg, f.text)
				}
				if len(cfg.Loaders) == 0 {
					t.Fatalf("%s: the block loads no loader", name)
				}
			})
		}
	}
	if blocks < 7 {
		t.Errorf("%d ```toml blocks found; the pages had 7 when this test was written", blocks)
	}
}

// writeDocItems creates an items file a block names, with one item of
// the shape the pages' templates read ({{.id}}, {{.slug}}, {{.}}).
func writeDocItems(t *testing.T, path string) {
	t.Helper()
	content := map[string]string{
		".jsonl": `{"id": 17, "slug": "home", "name": "Ada", "price": 3}` + "\n",
		".csv":   "id,slug\n17,home\n",
		".txt":   "home\n",
	}[filepath.Ext(path)]
	if content == "" {
		t.Fatalf("%s: no test items for this kind of file", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docSubcommands are the program's subcommands. A line naming another
// word where a subcommand would go is parsed as flags, so that a
// forgotten -- (cachewarm plain) fails rather than passing as a
// subcommand's --help.
var docSubcommands = map[string]bool{"merge": true, "init": true, "completion": true, "man": true}

// docPendingSubcommands are subcommands the pages document that another
// branch adds; their lines are skipped, saying so, until it is merged.
// Remove an entry once `cachewarm NAME --help` exists on this branch.
var docPendingSubcommands = map[string]string{}

// Every `cachewarm …` line of a ```sh block in the README and docs/ is
// parsed by the program's own flag parser: a flag the program does not
// have, or a combination it refuses (--plain with --json, a bad --shard),
// fails here. Subcommands (merge) are parsed by running them with --help
// appended, which parses every flag before it and does nothing else.
func TestDocsCommandLines(t *testing.T) {
	// Not parallel: run sets go-redis's process-wide logger.
	lines := 0
	for _, page := range docPages(t) {
		for _, f := range docFences(t, page) {
			if f.lang != "sh" {
				continue
			}
			for i, line := range shellLines(f.text) {
				for _, args := range cachewarmCommands(line) {
					lines++
					where := fmt.Sprintf("%s:%d: %s", f.file, f.line+i, strings.Join(append([]string{"cachewarm"}, args...), " "))
					if len(args) > 0 && (docSubcommands[args[0]] || docPendingSubcommands[args[0]] != "") {
						if why, ok := docPendingSubcommands[args[0]]; ok {
							t.Logf("%s: skipped: %s", where, why)
							continue
						}
						var out, errb strings.Builder
						if code := run(append(args, "--help"), testEnv(nil), strings.NewReader(""), &out, &errb); code != 0 {
							t.Errorf("%s: exit %d\n%s", where, code, errb.String())
						}
						continue
					}
					getenv := func(k string) string {
						if k == jobIndexEnv {
							return "0"
						}
						return ""
					}
					var errb strings.Builder
					if f, code := parseCommand(args, getenv, io.Discard, &errb); f == nil || code != exitOK {
						t.Errorf("%s: exit %d\n%s", where, code, errb.String())
					}
				}
			}
		}
	}
	if lines < 10 {
		t.Errorf("%d cachewarm command lines found; the pages had 14 when this test was written", lines)
	}
}

// shellLines joins a block's backslash-continued lines and returns one
// entry per block line, so that an index still names the line it began
// on (continued lines leave empty entries).
func shellLines(block string) []string {
	raw := strings.Split(block, "\n")
	out := make([]string, len(raw))
	for i := 0; i < len(raw); i++ {
		start := i
		line := raw[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(raw) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + raw[i]
		}
		out[start] = line
	}
	return out
}

// cachewarmCommands returns the arguments of each cachewarm command on a
// shell line: the line is split into words (quotes honoured, a comment
// dropped) and into commands at |, ||, &&, ; and &. A command is
// cachewarm's when its first word (after VAR=value assignments) is
// cachewarm, or when xargs runs it; xargs's {} stands for the shard index
// 0. Redirections are dropped.
func cachewarmCommands(line string) [][]string {
	var cmds [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			cmds = append(cmds, cur)
		}
		cur = nil
	}
	for _, w := range shellWords(line) {
		if w == "|" || w == "||" || w == "&&" || w == ";" || w == "&" {
			flush()
			continue
		}
		cur = append(cur, w)
	}
	flush()
	var out [][]string
	for _, c := range cmds {
		for len(c) > 0 && shellAssignment.MatchString(c[0]) {
			c = c[1:]
		}
		if len(c) > 0 && c[0] == "xargs" {
			for i, w := range c {
				if w == "cachewarm" {
					c = c[i:]
					break
				}
			}
		}
		if len(c) == 0 || c[0] != "cachewarm" {
			continue
		}
		var args []string
		for i := 1; i < len(c); i++ {
			w := c[i]
			switch {
			case w == ">" || w == ">>" || w == "<" || w == "2>":
				i++ // and its file
			case strings.HasPrefix(w, ">") || strings.HasPrefix(w, "2>") || strings.HasPrefix(w, "<"):
			default:
				args = append(args, strings.ReplaceAll(w, "{}", "0"))
			}
		}
		out = append(out, args)
	}
	return out
}

// shellAssignment is a VAR=value word before a command.
var shellAssignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// shellWords splits a line as sh would for the simple lines the pages
// hold: single and double quotes, backslash escapes, # comments, and the
// operators |, ||, &, &&, ; as words of their own.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	end := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\'':
			inWord = true
			for i++; i < len(rs) && rs[i] != '\''; i++ {
				w.WriteRune(rs[i])
			}
		case r == '"':
			inWord = true
			for i++; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
				}
				w.WriteRune(rs[i])
			}
		case r == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		case r == '#' && !inWord:
			end()
			return words
		case r == ' ' || r == '\t':
			end()
		case r == '|' || r == '&' || r == ';':
			if r == '&' && inWord && strings.HasSuffix(w.String(), ">") {
				w.WriteRune(r) // 2>&1
				continue
			}
			end()
			op := string(r)
			if i+1 < len(rs) && rs[i+1] == r && r != ';' {
				op += string(r)
				i++
			}
			words = append(words, op)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	end()
	return words
}

// The Kubernetes example runs as written, minus the cluster: its
// ConfigMap's config.toml and its container's shell command run as three
// shard processes, each with its JOB_COMPLETION_INDEX and the Secret's
// CACHEWARM_REDIS_URL, against a real redis-server and a test origin that
// rejects a few items on the first run, so the command's --retry-from half
// runs too. Together they write every key exactly once.
func TestKubernetesExampleShards(t *testing.T) {
	t.Parallel()
	const n, shards = 600, 3
	b, err := os.ReadFile("examples/k8s-indexed-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfgText := yamlBlock(t, string(b), "  config.toml: |\n")
	script := yamlBlock(t, string(b), "          args:\n            - |\n")

	var mu sync.Mutex
	hits, served := map[string]int{}, map[string]int{}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits[r.URL.Path]++
		var id int
		fmt.Sscanf(r.URL.Path, "/products/%d", &id)
		// Every 50th item fails its first three requests: more than the
		// example's retries = 2, so the first run rejects it and the
		// command's --retry-from run fulfils it.
		if id%50 == 0 && hits[r.URL.Path] <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		served[r.URL.Path]++
		fmt.Fprintf(w, `{"id":%d}`, id)
	}))
	defer origin.Close()
	srv := redistest.Start(t)

	dir := t.TempDir()
	cfgDir, reports := filepath.Join(dir, "config"), filepath.Join(dir, "reports")
	for _, d := range []string{cfgDir, reports} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// What a cluster provides and a test cannot: the origin's service name,
	// the volumes' mount points; and a smaller range, the same config.
	cfgText = docReplace(t, cfgText, map[string]string{
		"http://catalog.shop.svc": origin.URL,
		"range = [1, 3000000]":    fmt.Sprintf("range = [1, %d]", n),
	})
	script = docReplace(t, script, map[string]string{
		"/config/config.toml": filepath.Join(cfgDir, "config.toml"),
		"/reports/":           reports + "/",
	})
	if err := os.WriteFile(filepath.Join(cfgDir, "config.toml"), []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}

	bin := buildBinary(t)
	var wg sync.WaitGroup
	errs := make([]string, shards)
	for k := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("/bin/sh", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(),
				"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
				fmt.Sprintf("JOB_COMPLETION_INDEX=%d", k),
				redisURLEnv+"="+srv.URL(),
				"XDG_STATE_HOME="+filepath.Join(dir, fmt.Sprintf("state-%d", k)),
			)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[k] = fmt.Sprintf("shard %d: %v\n%s", k, err, out)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
	if t.Failed() {
		return
	}

	var total int64
	retried := 0
	for k := range shards {
		rep, err := warmup.ReadReport(filepath.Join(reports, fmt.Sprintf("shard-%d.json", k)))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Shard == nil || rep.Shard.K != k || rep.Shard.N != shards {
			t.Errorf("shard-%d.json: shard %+v", k, rep.Shard)
		}
		if rep.Rejected != 0 || rep.NotStarted != 0 {
			t.Errorf("shard-%d.json: %d rejected, %d not started", k, rep.Rejected, rep.NotStarted)
		}
		if rep.RetryFrom != "" {
			retried++
		}
		total += rep.Fulfilled + rep.FulfilledBefore
	}
	if total != n {
		t.Errorf("the shards fulfilled %d items in all, want %d: they overlap or miss some", total, n)
	}
	if retried == 0 {
		t.Error("no shard ran the command's --retry-from half")
	}
	if got := srv.Client.DBSize(context.Background()).Val(); got != n {
		t.Errorf("Redis holds %d keys, want %d", got, n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= n; i++ {
		key, path := fmt.Sprintf("product:%d", i), fmt.Sprintf("/products/%d", i)
		if v := srv.Client.Get(context.Background(), key).Val(); v != fmt.Sprintf(`{"id":%d}`, i) {
			t.Errorf("%s = %q", key, v)
		}
		if served[path] != 1 {
			t.Errorf("%s was served %d times, want once: the shards are not disjoint", path, served[path])
		}
	}
}

// yamlBlock returns the block scalar that follows header in the YAML
// text, its indentation (that of its first line) removed.
func yamlBlock(t *testing.T, text, header string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, header)
	if !ok {
		t.Fatalf("the example has no %q", strings.TrimSpace(header))
	}
	first := strings.SplitN(rest, "\n", 2)[0]
	indent := first[:len(first)-len(strings.TrimLeft(first, " "))]
	var b strings.Builder
	for _, line := range strings.SplitAfter(rest, "\n") {
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, indent) {
			break
		}
		b.WriteString(strings.TrimPrefix(line, indent))
	}
	return b.String()
}

// docReplace replaces each placeholder, failing when the text no longer
// has it: a test that silently stopped substituting would test nothing.
func docReplace(t *testing.T, text string, with map[string]string) string {
	t.Helper()
	for from, to := range with {
		if !strings.Contains(text, from) {
			t.Fatalf("the example no longer has %q:\n%s", from, text)
		}
		text = strings.ReplaceAll(text, from, to)
	}
	return text
}

// The README's quick start works as written, after `cachewarm init` and the
// edit: its config (the fetch URL pointed at a test origin, its Redis from
// CACHEWARM_REDIS_URL as the export line sets it), then --dry-run, which
// writes nothing, the run, which rejects the items the origin keeps
// failing and exits 1, and the --retry-from line, which fulfils just those
// and exits 0. Each line runs verbatim in sh, with the tests' cachewarm on
// PATH.
func TestReadmeQuickStart(t *testing.T) {
	t.Parallel()
	const n = 60
	var sh, cfgText string
	for _, f := range docFences(t, "README.md") {
		switch {
		case f.lang == "sh" && strings.Contains(f.text, "cachewarm --dry-run"):
			sh = f.text
		case f.lang == "toml" && cfgText == "":
			cfgText = f.text
		}
	}
	if sh == "" || cfgText == "" {
		t.Fatal("the README has no quick start: a ```sh block with cachewarm --dry-run and a ```toml block")
	}
	var mu sync.Mutex
	hits := map[string]int{}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits[r.URL.Path]++
		var id int
		fmt.Sscanf(r.URL.Path, "/products/%d", &id)
		// Every 10th item fails until the run is over (three requests:
		// the default retries are 2); the retry finds it healed.
		if id%10 == 0 && hits[r.URL.Path] <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"id":%d}`, id)
	}))
	defer origin.Close()
	srv := redistest.Start(t)
	dir := t.TempDir()
	cfgText = docReplace(t, cfgText, map[string]string{"https://api.example.com": origin.URL})
	var items strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&items, "{\"id\": %d}\n", i)
	}
	for name, content := range map[string]string{"config.toml": cfgText, "items.jsonl": items.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lines := map[string]string{}
	for _, line := range strings.Split(sh, "\n") {
		for _, prefix := range []string{"export CACHEWARM_REDIS_URL=", "cachewarm --dry-run", "cachewarm --report", "cachewarm --retry-from"} {
			if strings.HasPrefix(line, prefix) {
				lines[prefix] = line
			}
		}
	}
	if len(lines) != 4 {
		t.Fatalf("the quick start lacks a line; found %q", lines)
	}
	// What the export line does, with this test's Redis.
	env := []string{redisURLEnv + "=" + srv.URL(), "XDG_STATE_HOME=" + t.TempDir()}

	code, out, errs := docShell(t, dir, env, lines["cachewarm --dry-run"])
	if code != 0 || !strings.Contains(out, "product:1") {
		t.Fatalf("--dry-run: exit %d\n%s%s", code, out, errs)
	}
	if got := srv.Client.DBSize(context.Background()).Val(); got != 0 {
		t.Fatalf("--dry-run wrote %d keys", got)
	}
	if code, out, errs := docShell(t, dir, env, lines["cachewarm --report"]); code != 1 {
		t.Fatalf("the run: exit %d, want 1 (every 10th item rejected)\n%s%s", code, out, errs)
	}
	if got := srv.Client.DBSize(context.Background()).Val(); got != n-n/10 {
		t.Fatalf("after the run Redis holds %d keys, want %d", got, n-n/10)
	}
	if code, out, errs := docShell(t, dir, env, lines["cachewarm --retry-from"]); code != 0 {
		t.Fatalf("the --retry-from line: exit %d\n%s%s", code, out, errs)
	}
	if got := srv.Client.DBSize(context.Background()).Val(); got != n {
		t.Errorf("after the retry Redis holds %d keys, want %d", got, n)
	}
	rep, err := warmup.ReadReport(filepath.Join(dir, "r.json"))
	if err != nil || rep.Fulfilled != n/10 || rep.FulfilledBefore != n-n/10 || rep.Rejected != 0 {
		t.Fatalf("r.json: %v %+v", err, rep)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= n; i++ {
		// The retry fetched only the rejected items: fulfilled ones once.
		if want := map[bool]int{true: 4, false: 1}[i%10 == 0]; hits[fmt.Sprintf("/products/%d", i)] != want {
			t.Errorf("/products/%d requested %d times, want %d", i, hits[fmt.Sprintf("/products/%d", i)], want)
		}
	}
}

// docShell runs a documented line in sh in dir, with the tests' cachewarm
// first on PATH and env added to the environment (not set on the process:
// the docs tests run in parallel).
func docShell(t *testing.T, dir string, env []string, line string) (int, string, string) {
	t.Helper()
	bin := buildBinary(t)
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("sh -c %q: %v", line, err)
	return 0, "", ""
}
