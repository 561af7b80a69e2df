package warmup_test

import (
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/cachewarm/cachewarm/warmup"
)

// A quick run against miniredis: the integration tests repeat this kind of
// check against a real redis-server.
func TestQuickRunCountsAndTemplates(t *testing.T) {
	mr := miniredis.RunT(t)
	cfg := loadConfig(t, `
[[loader]]
name = "t"
items = { list = ["a b", "c/d", "e"] }
key = "t:{{urlquery .}}:{{upper .}}"
[[loader]]
name = "j"
items = { file = "j.jsonl" }
key = "j:{{json .}}"
[[loader]]
name = "bad"
items = { range = [1, 4] }
key = "{{if eq (printf \"%d\" .) \"3\"}}{{else}}b:{{.}}{{end}}"
`, map[string]string{"j.jsonl": "{\"id\":1}\n"}, nil)
	if err := cfg.SetRedisURL("redis://" + mr.Addr() + "/0"); err != nil {
		t.Fatal(err)
	}
	eng, rep := runURL(t, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	for _, k := range []string{"t:a+b:A B", "t:c%2Fd:C/D", `j:{"id":1}`, "b:1", "b:4"} {
		if !mr.Exists(k) {
			t.Errorf("key %q missing; have %v", k, mr.Keys())
		}
	}
	bad := loaderReport(t, rep, "bad")
	if bad.Rejected != 1 || bad.RejectedItems[0].Reason != "key template: rendered an empty key" {
		t.Fatalf("bad: %s", mustJSON(t, bad))
	}
	if eng.ExitCode() != 1 {
		t.Errorf("exit %d, want 1", eng.ExitCode())
	}
}
