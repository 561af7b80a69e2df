package warmup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// shardReport is a report of shard k/n of config c.toml with one loader
// that fulfilled f items and rejected one.
func shardReport(k, n int, f int64) *Report {
	return &Report{
		ReportTotals: ReportTotals{Fulfilled: f, Rejected: 1, Shard: &Shard{K: k, N: n}, Config: "c.toml",
			Started: time.Date(2026, 11, 25, 1, 0, k, 0, time.UTC), Seconds: 2},
		Loaders: []LoaderReport{{
			LoaderTotals:  LoaderTotals{Name: "a", Source: "range 1..100", Fulfilled: f, Rejected: 1, P95ms: float64(k)},
			RejectedItems: []Rejection{{Item: json.RawMessage(fmt.Sprint(k)), Key: fmt.Sprintf("a:%d", k), Reason: "boom", Stage: StageFetch, Attempts: 1}},
		}},
	}
}

func writeReports(t *testing.T, reps ...*Report) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, rep := range reps {
		p := filepath.Join(dir, fmt.Sprintf("r%d.json", i))
		if err := WriteReport(p, rep); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// Merging adds the shards' counts, keeps every rejected item and each
// shard's resume point, and lists the shards missing.
func TestMergeReports(t *testing.T) {
	stopped := shardReport(2, 3, 5)
	stopped.Interrupted = true
	stopped.Loaders[0].NotStarted = -1
	stopped.Loaders[0].Resume = &source.Resume{Next: 60, Remaining: -1}
	stopped.Loaders[0].Causes = []CauseCount{{Cause: "503 Service Unavailable", Stage: StageFetch, Count: 1}}
	stopped.Warm, stopped.Loaders[0].Warm = 3, 3
	stopped.Topology = "cluster · 3 masters"
	other := shardReport(0, 3, 10)
	other.Topology = "cluster · 3 masters"
	other.Warm, other.Loaders[0].Warm = 4, 4
	other.Loaders[0].Causes = []CauseCount{{Cause: "404 Not Found", Stage: StageFetch, Count: 1}, {Cause: "503 Service Unavailable", Stage: StageFetch, Count: 1}}
	m, err := MergeReports(writeReports(t, stopped, other))
	if err != nil {
		t.Fatal(err)
	}
	rep := m.Report
	if rep.Fulfilled != 15 || rep.Warm != 7 || rep.Rejected != 2 || !rep.Interrupted || rep.Shard != nil {
		t.Fatalf("totals %+v", rep.ReportTotals)
	}
	if !slices.Equal(rep.Merged.Shards, []int{0, 2}) || !slices.Equal(rep.Merged.Missing, []int{1}) || rep.Merged.N != 3 {
		t.Fatalf("merged %+v", rep.Merged)
	}
	l := rep.Loaders[0]
	if l.Fulfilled != 15 || l.Warm != 7 || l.Rejected != 2 || l.NotStarted != -1 || l.P95ms != 2 || l.Resume != nil ||
		len(l.Resumes) != 1 || l.Resumes[0].Shard != 2 || l.Resumes[0].Next != 60 {
		t.Fatalf("loader %+v", l.LoaderTotals)
	}
	if c := l.Causes; len(c) != 2 || c[0].Cause != "503 Service Unavailable" || c[0].Count != 2 || c[1].Count != 1 {
		t.Errorf("causes %+v, want the shards' summed, most frequent first", c)
	}
	if rep.Seconds != 4 {
		t.Errorf("seconds %v, want 4: from the first start to the last end", rep.Seconds)
	}
	if rep.Topology != "cluster · 3 masters" {
		t.Errorf("redis_topology %q, want the shards' own", rep.Topology)
	}
	var b bytes.Buffer
	if err := m.Encode(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("merged report is not JSON: %v\n%s", err, b.String())
	}
	var keys []string
	for _, r := range back.Loaders[0].RejectedItems {
		keys = append(keys, r.Key)
	}
	if !slices.Equal(keys, []string{"a:0", "a:2"}) {
		t.Fatalf("rejected items %v, want shard 0's then shard 2's", keys)
	}
}

// Reports that are not the shards of one run are refused.
func TestMergeRefuses(t *testing.T) {
	unsharded := shardReport(0, 3, 1)
	unsharded.Shard = nil
	otherConfig := shardReport(1, 3, 1)
	otherConfig.Config = "other.toml"
	otherLoaders := shardReport(1, 3, 1)
	otherLoaders.Loaders[0].Name = "b"
	merged := shardReport(1, 3, 1)
	merged.Shard, merged.Merged = nil, &Merged{N: 3, Shards: []int{0, 1, 2}}
	negative := shardReport(1, 3, 1)
	negative.Fulfilled, negative.Loaders[0].Fulfilled = -5, -5
	unbalanced := shardReport(1, 3, 1)
	unbalanced.Fulfilled = 1000
	moreWarm := shardReport(1, 3, 1)
	moreWarm.Warm, moreWarm.Loaders[0].Warm = 2, 2
	badNotStarted := shardReport(1, 3, 1)
	badNotStarted.Loaders[0].NotStarted = -7
	for _, tc := range []struct {
		name string
		reps []*Report
		want string
	}{
		{"negative counts", []*Report{shardReport(0, 3, 1), negative}, "loader a have a negative count"},
		{"totals that are not the loaders' sums", []*Report{shardReport(0, 3, 1), unbalanced}, "fulfilled is 1000, but its loaders' add up to 1"},
		{"more warm than fulfilled", []*Report{moreWarm}, "2 warm of 1 fulfilled"},
		{"not_started below -1", []*Report{badNotStarted}, "a negative count"},
		{"twice", []*Report{shardReport(0, 3, 1), shardReport(0, 3, 2)}, "are both of shard 0/3"},
		{"other n", []*Report{shardReport(0, 3, 1), shardReport(1, 2, 1)}, "different numbers of shards"},
		{"not a shard", []*Report{shardReport(1, 3, 1), unsharded}, "not a shard's report"},
		{"other config", []*Report{shardReport(0, 3, 1), otherConfig}, "of config other.toml"},
		{"other loaders", []*Report{shardReport(0, 3, 1), otherLoaders}, "not the same config"},
		{"merged", []*Report{merged}, "a merged report already"},
		{"shard past n", []*Report{shardReport(0, 2, 1), shardReport(2, 2, 1)}, "shard 2/2: k must be from 0 to 1"},
		{"negative shard", []*Report{shardReport(-1, 2, 1), shardReport(0, 2, 1)}, "k must be from 0 to 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MergeReports(writeReports(t, tc.reps...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/3", Shard{0, 3}, ""},
		{" 2/3 ", Shard{2, 3}, ""},
		{"0/1", Shard{0, 1}, ""},
		{"3/3", Shard{}, "k must be from 0 to 2"},
		{"-1/3", Shard{}, "k must be from 0 to 2"},
		{"0/0", Shard{}, "n must be at least 1"},
		{"1", Shard{}, "want k/n"},
		{"x/3", Shard{}, "k is not a number"},
		{"1/y", Shard{}, "n is not a number"},
	} {
		got, err := ParseShard(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseShard(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// Keys as a loader makes them ("product:1", "product:2", …) spread evenly
// over the shards, for any n, including powers of two.
func TestShardOfSpreadsKeys(t *testing.T) {
	for _, n := range []int{2, 3, 4, 8, 10} {
		counts := make([]int, n)
		const keys = 60000
		for i := range keys {
			counts[shardOf(fmt.Sprintf("product:%d", i), n)]++
		}
		for k, c := range counts {
			if want := keys / n; c < want*97/100 || c > want*103/100 {
				t.Errorf("n=%d: shard %d owns %d of %d keys", n, k, c, keys)
			}
		}
	}
}

// A merged report keeps every shard's outages, in time order, each
// naming its shard: one Redis outage seen by three shards is three
// records of it, not one shard's.
func TestMergeKeepsOutages(t *testing.T) {
	at := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	outage := func(start, secs int, outcome string) Outage {
		s := at.Add(time.Duration(start) * time.Second)
		return Outage{Start: s, End: s.Add(time.Duration(secs) * time.Second), Seconds: float64(secs), Cause: "redis 10.0.0.1:6379: connection refused", Outcome: outcome}
	}
	a, b := shardReport(0, 2, 5), shardReport(1, 2, 5)
	a.Outages = []Outage{outage(10, 3, OutageBack), outage(40, 30, OutageGaveUp)}
	b.Outages = []Outage{outage(11, 2, OutageBack)}
	b.OutagesMore = 4
	m, err := MergeReports(writeReports(t, a, b))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range m.Report.Outages {
		got = append(got, fmt.Sprintf("%d:%s:%s", *o.Shard, o.Start.Format("15:04:05"), o.Outcome))
	}
	if want := "0:03:00:10:back 1:03:00:11:back 0:03:00:40:gave up"; strings.Join(got, " ") != want || m.Report.OutagesMore != 4 {
		t.Fatalf("merged outages %q (+%d), want %q (+4)", strings.Join(got, " "), m.Report.OutagesMore, want)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"shard": 1`) {
		t.Errorf("encoded merge does not name the shards of its outages:\n%s", buf.String())
	}
}
