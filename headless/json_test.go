package headless

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup"
)

// A progress event lists only the loaders whose loader_done has not been
// printed: nothing of a loader follows its loader_done.
func TestJSONProgressLeavesDoneLoadersOut(t *testing.T) {
	var out bytes.Buffer
	j := NewJSON(&out, io.Discard)
	snap := warmup.Snapshot{State: warmup.StateRunning, Elapsed: 5 * time.Second, Fulfilled: 7, Rate: 1.23456,
		Loaders: []warmup.LoaderSnapshot{{Name: "a", Fulfilled: 3, Read: 3}, {Name: "b", Fulfilled: 4, Read: 6, InFlight: 2}}}
	j.progress(snap)
	j.Hooks().OnLoaderDone(warmup.LoaderSnapshot{Name: "a", Fulfilled: 3})
	j.progress(snap)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev progressEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event != "progress" {
			got = append(got, ev.Event)
			continue
		}
		names := []string{}
		for _, l := range ev.Loaders {
			names = append(names, l.Loader)
		}
		got = append(got, "progress "+strings.Join(names, ","))
		if ev.Rate != 1.235 || ev.Seconds != 5 {
			t.Errorf("progress %+v", ev)
		}
	}
	if want := "progress a,b|loader_done|progress b"; strings.Join(got, "|") != want {
		t.Fatalf("events %q, want %q", strings.Join(got, "|"), want)
	}
}

// Lines written to Notices become notice events, one a line, without the
// "cachewarm: " of stderr.
func TestJSONNotices(t *testing.T) {
	var out bytes.Buffer
	w := NewJSON(&out, io.Discard).Notices()
	io.WriteString(w, "cachewarm: waiting for Redis")
	io.WriteString(w, " (up to 30s)\ncachewarm: warning: x\n")
	want := `{"event":"notice","message":"waiting for Redis (up to 30s)"}` + "\n" + `{"event":"notice","message":"warning: x"}` + "\n"
	if out.String() != want {
		t.Fatalf("got %q", out.String())
	}
}
