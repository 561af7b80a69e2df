package tui

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// Golden scenes run the real program through teatest at a fixed size with
// the ASCII colour profile (no colours, so meaning must come from words,
// symbols and borders). The program is synchronised on its output with
// teatest.WaitFor; once the scene is on screen the program quits and the
// final screen is compared with testdata/<test>.golden. The final screen,
// rather than the raw byte stream, is compared because how the renderer
// splits updates into frames depends on timing.
//
// The renderer only writes the cells that changed, so a text may never
// appear whole in the output ("row 2/30" -> "row 3/30" writes "3"). While
// waiting, each check that fails asks for a full repaint (tea.ClearScreen),
// after which the screen's lines are written out again.
//
// Regenerate with: go test ./tui -update

const (
	goldenWidth  = 100
	goldenHeight = 30
	waitTimeout  = 5 * time.Second
)

type scene struct {
	snap warmup.Snapshot
	// ready is on screen once the first snapshot has been drawn.
	ready string
	steps []step
}

// step presses keys, then waits until shown is on screen.
type step struct {
	keys  []string
	shown string
}

func runScene(t *testing.T, sc scene, w, h int) {
	t.Helper()
	eng := newFake(sc.snap)
	eng.rejections["sessions"] = sessionRejections(30)
	m := New(eng, Options{still: true, Demo: true})
	seedHistory(m.history, sc.snap)
	tm := teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)),
	)
	waitFor(t, tm, sc.ready)
	for _, st := range sc.steps {
		for _, k := range st.keys {
			tm.Send(keyMsg(k))
		}
		waitFor(t, tm, st.shown)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final, ok := tm.FinalModel(t, teatest.WithFinalTimeout(waitTimeout)).(Model)
	if !ok {
		t.Fatal("final model is not a Model")
	}
	golden.RequireEqual(t, asASCII(t, final.View().Content))
}

func waitFor(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
		tm.Send(tea.ClearScreen())
		return false
	}, teatest.WithDuration(waitTimeout), teatest.WithCheckInterval(10*time.Millisecond))
}

// asASCII downsamples a screen to the ASCII profile, as the program's
// renderer does: colours go, text attributes (bold, reverse) stay.
func asASCII(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ASCII}
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	out := tidySGR(b.Bytes())
	if bytes.Contains(out, []byte("\x1b[3")) || bytes.Contains(out, []byte("\x1b[9")) || bytes.Contains(out, []byte(";38;")) {
		t.Fatalf("colour left in an ASCII screen: %q", out)
	}
	return out
}

// tidySGR drops the resets that reset nothing, which downsampling leaves
// where a style only had colours, so that the goldens read as text.
func tidySGR(b []byte) []byte {
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`) // Select Graphic Rendition
	var out bytes.Buffer
	active := false
	for len(b) > 0 {
		loc := sgr.FindIndex(b)
		if loc == nil {
			out.Write(b)
			break
		}
		out.Write(b[:loc[0]])
		seq := b[loc[0]:loc[1]]
		b = b[loc[1]:]
		if reset := string(seq) == "\x1b[m" || string(seq) == "\x1b[0m"; reset {
			if active {
				out.Write(seq)
			}
			active = false
			continue
		}
		out.Write(seq)
		active = true
	}
	return out.Bytes()
}

func TestGoldenGridMidRun(t *testing.T) {
	runScene(t, scene{snap: midRun(), ready: "homepage"}, goldenWidth, goldenHeight)
}

func TestGoldenGridMidRun80x24(t *testing.T) {
	runScene(t, scene{snap: midRun(), ready: "sessions"}, 80, 24)
}

func TestGoldenGridDoneWithFailures(t *testing.T) {
	runScene(t, scene{snap: doneWithFailures(), ready: "done in 41s"}, goldenWidth, goldenHeight)
}

// seedHistory gives every series a minute of made-up throughput, the
// same on every run, so that the goldens show the sparklines.
func seedHistory(h *throughput, s warmup.Snapshot) {
	n := len(s.Loaders) + 1
	h.sec = int64(s.Elapsed / time.Second)
	h.settled = make([]int64, n)
	h.series = make([][]float64, n)
	for i := range n {
		for j := range historyLen {
			h.series[i] = append(h.series[i], float64((j*(i+3)+i*7)%17))
		}
	}
}

// causesScene opens the causes of sessions, the loader with three.
func causesScene() scene {
	return scene{
		snap:  doneWithFailures(),
		ready: "done in 41s",
		steps: []step{{keys: []string{"tab", "tab", "tab", "enter"}, shown: "failures of sessions"}},
	}
}

func TestGoldenFailureView(t *testing.T) {
	runScene(t, causesScene(), goldenWidth, goldenHeight)
}

func TestGoldenFailureView80x24(t *testing.T) {
	runScene(t, causesScene(), 80, 24)
}

func TestGoldenFailureView200x60(t *testing.T) {
	runScene(t, causesScene(), 200, 60)
}

func TestGoldenFailureItems(t *testing.T) {
	sc := causesScene()
	sc.steps = append(sc.steps,
		step{keys: []string{"tab"}, shown: "row 1/30"},
		step{keys: []string{"down", "down"}, shown: "row 3/30"},
	)
	runScene(t, sc, goldenWidth, goldenHeight)
}

func TestGoldenAllFailures(t *testing.T) {
	runScene(t, scene{
		snap:  doneWithFailures(),
		ready: "done in 41s",
		steps: []step{{keys: []string{"f", "down"}, shown: "all failures"}},
	}, goldenWidth, goldenHeight)
}

// waitingForRedis is a run held up by Redis for 12s.
func waitingForRedis() warmup.Snapshot {
	s := midRun()
	s.State = warmup.StateWaiting
	s.RedisDown = 12 * time.Second
	s.RedisCause = "redis 10.0.0.5:6379: connection refused"
	for i := range s.Loaders {
		l := &s.Loaders[i]
		l.Waiting = !l.Done
		l.Retrying, l.Rate = 0, 0
	}
	return s
}

func TestGoldenWaitingForRedis(t *testing.T) {
	runScene(t, scene{snap: waitingForRedis(), ready: "homepage"}, goldenWidth, goldenHeight)
}

// verifying is a run whose items have all settled, part-way through
// --verify: 2 keys of 1,800 checked found missing, 5 keys evicted.
func verifying() warmup.Snapshot {
	s := doneWithFailures()
	s.State = warmup.StateVerifying
	s.Verify = &warmup.VerifyState{Running: true, Checked: 1800, Total: 4210, Failed: 2, Evicted: 5}
	return s
}

func TestGoldenVerifying(t *testing.T) {
	runScene(t, scene{snap: verifying(), ready: "verifying"}, goldenWidth, goldenHeight)
}

func TestGoldenHelp(t *testing.T) {
	runScene(t, scene{
		snap:  midRun(),
		ready: "homepage",
		steps: []step{{keys: []string{"?"}, shown: "shift+tab"}},
	}, goldenWidth, goldenHeight)
}

// TestGoldenScenesDiffer guards the goldens themselves: each scene must
// show what it is named after.
func TestGoldenScenesDiffer(t *testing.T) {
	for name, want := range map[string][]string{
		"TestGoldenGridMidRun":                  {"● running", "DEMO", "↻ retrying 1 (attempt 2)", "1,203 settled of 1,340 read", " · GET /products/871", "█"},
		"TestGoldenGridMidRun80x24":             {"● running", "homepage", "8 in flight, oldest 2s", "16 in flight, oldest 1s"},
		"TestGoldenVerifying":                   {"◎ verifying 1,800/4,210 keys", "◎ 1,800 verified, 2 wrong, 5 evicted"},
		"TestGoldenGridDoneWithFailures":        {"✓ done", "done in 41s", "✗ 30 rejected", "✓ ok"},
		"TestGoldenFailureView":                 {"· causes", "OOM command not allowed when used memory > 'maxmemory'", "67%", "SET session:80", "r retries the 20 items rejected with “OOM command not allowed when used memory > 'maxmemory'”"},
		"TestGoldenFailureView80x24":            {"· causes", "share", "retry this cause"},
		"TestGoldenFailureView200x60":           {"· causes", "redis 10.0.0.5:6379: connection refused", "tab lists the items"},
		"TestGoldenFailureItems":                {"· rejected items", "cause", "detail", "attempts", "row 3/30", "reason redis SET session:82"},
		"TestGoldenAllFailures":                 {"all failures", "loader", "sessions", "products", "timeout after 5s", "loader's failures"},
		"TestGoldenAllFailuresLongLoader80x24":  {"all failures", "catalogue-product-d…", "500 Internal Server Error", "503 Service Unavailable", "404 Not Found"},
		"TestGoldenAllFailuresLongLoader120x40": {"catalogue-product-d…", "500 Internal Server Error", "dial tcp 10.20.30.40:443: connect: connection refused", "OOM command not allowed when used memory > 'maxmemory'"},
		"TestGoldenFailureViewLongLoader80x24":  {"· cau…", "dial tcp 10.20.30.40:443: connect:        2", " connection refused  ", "timeout after 5s awaiting response        9", " headers  ", "r retries the 120 items rejected with “500 Internal Server Error”"},
		"TestGoldenFailureItems80x24":           {"· rejected items", "SET session:80", "attempts"},
		"TestGoldenWaitingForRedis":             {"⏸ waiting for Redis 12s", "connection refused"},
		"TestGoldenHelp":                        {"shift+tab", "previous loader", "clear filter"},
	} {
		b, err := readGolden(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(b, w) {
				t.Errorf("%s.golden lacks %q", name, w)
			}
		}
	}
}

func readGolden(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
	return string(b), err
}

// longLoaderName is a loader name wider than any column should be.
const longLoaderName = "catalogue-product-detail-pages-for-the-european-storefront-v2"

// withLongLoader is a finished run whose first loader has a long name and
// long causes with longer examples.
func withLongLoader() warmup.Snapshot {
	s := doneWithFailures()
	const host = "GET https://catalogue.eu.shop.test/products/"
	l := warmup.LoaderSnapshot{
		Name: longLoaderName, Source: "catalogue.jsonl → catalogue.eu.shop.test",
		Total: 2000, Read: 2000, Rejected: 206, Fulfilled: 1794, Done: true,
		LastReason: host + "4711/detail: 500 Internal Server Error", LastCause: "500 Internal Server Error",
		Causes: []warmup.CauseCount{
			{Cause: "500 Internal Server Error", Stage: warmup.StageFetch, Count: 120, Example: host + "4711/detail?locale=de-DE&currency=EUR"},
			{Cause: "503 Service Unavailable", Stage: warmup.StageFetch, Count: 64, Example: host + "88/detail?locale=fr-FR&currency=EUR"},
			{Cause: "404 Not Found", Stage: warmup.StageFetch, Count: 11, Example: host + "9/detail?locale=it-IT&currency=EUR"},
			{Cause: "timeout after 5s awaiting response headers", Stage: warmup.StageFetch, Count: 9, Example: host + "1203/detail?locale=es-ES"},
			{Cause: "dial tcp 10.20.30.40:443: connect: connection refused", Stage: warmup.StageFetch, Count: 2, Example: host + "77/detail"},
		},
	}
	s.Loaders = append([]warmup.LoaderSnapshot{l}, s.Loaders...)
	return totals(s)
}

func TestGoldenAllFailuresLongLoader80x24(t *testing.T) {
	runScene(t, scene{
		snap:  withLongLoader(),
		ready: "done in 41s",
		steps: []step{{keys: []string{"f"}, shown: "all failures"}},
	}, 80, 24)
}

func TestGoldenAllFailuresLongLoader120x40(t *testing.T) {
	runScene(t, scene{
		snap:  withLongLoader(),
		ready: "done in 41s",
		steps: []step{{keys: []string{"f"}, shown: "all failures"}},
	}, 120, 40)
}

func TestGoldenFailureViewLongLoader80x24(t *testing.T) {
	runScene(t, scene{
		snap:  withLongLoader(),
		ready: "done in 41s",
		steps: []step{{keys: []string{"enter"}, shown: "failures of catalogue"}},
	}, 80, 24)
}

func TestGoldenFailureItems80x24(t *testing.T) {
	sc := causesScene()
	sc.steps = append(sc.steps, step{keys: []string{"tab"}, shown: "row 1/30"})
	runScene(t, sc, 80, 24)
}
