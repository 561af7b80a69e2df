package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// With --verify, a key the verify pass rejects comes as a rejected event
// before its loader's loader_done, and loader_done counts what the run
// ends with: a machine that stops reading a loader at its loader_done
// misses nothing.
func TestJSONVerifyRejectionsBeforeLoaderDone(t *testing.T) {
	srv := redistest.Start(t)
	// a and b write one key, a string and a hash: whichever wrote last,
	// the verify pass finds the other's of the wrong type.
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "a"
items = { list = ["x"] }
key = "k:1"
[[loader]]
name = "b"
items = { list = ["y"] }
key = "k:1"
type = "hash"
value = '{"f":"{{.item}}"}'
`, srv.URL()), map[string]string{})
	code, stdout, stderr := cli(t, "--config", cfg, "--json", "--verify", "--no-journal")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s\n%s", code, stdout, stderr)
	}
	done := map[string]int64{}
	verifyRejected := 0
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev struct {
			Event, Loader, Stage string
			Rejected             int64
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		switch ev.Event {
		case "rejected":
			if _, ok := done[ev.Loader]; ok {
				t.Fatalf("rejected event of %s after its loader_done:\n%s", ev.Loader, stdout)
			}
			if ev.Stage == "verify" {
				verifyRejected++
			}
		case "loader_done":
			done[ev.Loader] = ev.Rejected
		}
	}
	if verifyRejected != 1 || done["a"]+done["b"] != 1 {
		t.Fatalf("want one verify rejection, counted by its loader_done:\n%s", stdout)
	}
}
