package tui

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// The help (?), the footer and the key table of docs/monitor.md list the same
// keys: every binding the help shows is in that table, every key
// the table names is bound, and every key the footer shows is in the
// help of its view.
func TestKeysDocumentedAlike(t *testing.T) {
	readme, err := os.ReadFile("../docs/monitor.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := readmeKeys(t, string(readme))

	k := DefaultKeyMap()
	views := map[string]help.KeyMap{
		"grid":            k,
		"causes":          failureKeys{k: k, mode: modeCauses},
		"items":           failureKeys{k: k, mode: modeItems},
		"all failures":    failureKeys{k: k, all: true},
		"filter (typing)": filterKeys{k},
	}
	bound := map[string]bool{}
	for name, v := range views {
		var full []key.Binding
		for _, col := range v.FullHelp() {
			full = append(full, col...)
		}
		for _, b := range full {
			for _, kk := range helpTokens(b) {
				bound[kk] = true
			}
			if !slices.ContainsFunc(helpTokens(b), func(s string) bool { return documented[s] }) {
				t.Errorf("%s: the help lists %q (%s), the key table of docs/monitor.md does not", name, b.Help().Key, b.Help().Desc)
			}
		}
		for _, b := range v.ShortHelp() {
			if !slices.ContainsFunc(full, func(f key.Binding) bool { return f.Help().Key == b.Help().Key }) {
				t.Errorf("%s: the footer shows %q, the full help (?) does not", name, b.Help().Key)
			}
		}
	}
	for tok := range documented {
		if !bound[tok] && !slices.Contains([]string{"↑", "↓", "←", "→"}, tok) {
			t.Errorf("the key table of docs/monitor.md names %q, which no view binds", tok)
		}
	}
}

// helpTokens are the keys a binding's help names: "↑/k" is ↑ and k.
func helpTokens(b key.Binding) []string {
	toks := strings.Split(b.Help().Key, "/")
	if b.Help().Key == "/" {
		toks = []string{"/"}
	}
	return append(toks, b.Keys()...)
}

// readmeKeys are the keys the first column of docs/monitor.md's key
// table names in backquotes ("`h j k l`" is four); "arrows" are the four
// arrows.
func readmeKeys(t *testing.T, readme string) map[string]bool {
	t.Helper()
	start := strings.Index(readme, "| key | what it does |")
	if start < 0 {
		t.Fatal("docs/monitor.md has no monitor key table")
	}
	keys := map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(readme[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		first := strings.Split(line, "|")[1]
		if strings.Contains(first, "arrows") {
			for _, a := range []string{"↑", "↓", "←", "→", "up", "down", "left", "right"} {
				keys[a] = true
			}
		}
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			for _, f := range strings.Fields(m[1]) {
				keys[f] = true
			}
		}
	}
	return keys
}
