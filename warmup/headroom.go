package warmup

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// Headroom is what a run is estimated to add to Redis, set against what
// Redis has free below maxmemory, before the run starts: a run that will
// not fit is better refused (--require-headroom) or warned of than
// found out when Redis answers OOM, or evicts, half-way through.
type Headroom struct {
	// Adds is the estimated bytes the run adds, over the loaders whose
	// size can be told before the run; Keys the keys they write.
	Adds, Keys int64
	// Unknown names the loaders whose size cannot be told before the
	// run: fetched values, streams, gzip files, queries, sitemaps.
	Unknown []string
	// Masters is each master's memory at the start.
	Masters []rediswrite.Memory
}

// headroomSample is how many items of each source are read to estimate
// its keys' and values' size.
const headroomSample = 200

// keyOverhead approximates what Redis spends on a key beyond its name and
// value: the dictionary entry, the objects' headers, the expiry entry.
const keyOverhead = 80

// EstimateHeadroom reads each master's memory and, when one has a
// maxmemory, estimates what cfg's loaders add: for each loader without a fetch, its items (counted, or
// from the file's size) times a sample of its keys' and values' size.
func EstimateHeadroom(ctx context.Context, cfg *config.Config, t *rediswrite.Target) (*Headroom, error) {
	ms, err := t.Memory(ctx)
	if err != nil {
		return nil, err
	}
	h := &Headroom{Masters: ms}
	if !limited(ms) {
		return h, nil // nothing to compare with: no source is read
	}
	for _, l := range cfg.Loaders {
		keys, bytes, ok := estimateLoader(l)
		if !ok {
			h.Unknown = append(h.Unknown, l.Name)
			continue
		}
		h.Keys += keys
		h.Adds += bytes
	}
	return h, nil
}

// estimateLoader is the keys loader l writes and their bytes in Redis,
// false when they cannot be told before the run.
func estimateLoader(l *config.Loader) (keys, bytes int64, ok bool) {
	spec := l.Items
	if l.Fetch != nil {
		return 0, 0, false
	}
	file := ""
	switch s := spec.(type) {
	case source.SQLSpec, *source.SitemapSpec:
		return 0, 0, false
	case source.FileSpec:
		if s.ReadsStdin() || strings.HasSuffix(s.File, ".gz") {
			return 0, 0, false
		}
		// A FIFO is read once: by the run, not by an estimate.
		if st, err := os.Stat(s.File); err != nil || !st.Mode().IsRegular() {
			return 0, 0, false
		}
		file = s.File
	}
	src, err := source.Open(spec, nil)
	if err != nil {
		return 0, 0, false
	}
	defer src.Close()
	total := src.Total()
	var b strings.Builder
	var n, sampled int64
	for n < headroomSample {
		it, more := src.Next()
		if !more {
			break
		}
		n++
		v, err := it.Value()
		if it.Err != nil || err != nil {
			continue
		}
		key, err := l.Key.Execute(v, &b)
		if err != nil {
			continue
		}
		val, err := dryValue(l, &it)
		if err != nil {
			continue
		}
		sampled += int64(len(key) + len(val) + keyOverhead)
	}
	if n == 0 {
		return 0, 0, true
	}
	at := src.Resume()
	switch {
	case total >= 0:
	case at.Done:
		total = n
	case file != "" && at.Offset > 0:
		st, err := os.Stat(file)
		if err != nil || !st.Mode().IsRegular() {
			return 0, 0, false
		}
		total = n * st.Size() / at.Offset
	default:
		return 0, 0, false
	}
	return total, total * sampled / n, true
}

// Shortfall says how the estimate passes a master's free memory, or ""
// when it fits, or Redis has no maxmemory. Keys spread over a cluster's
// masters by slot, so each takes its share.
func (h *Headroom) Shortfall() string {
	if h.Adds == 0 || len(h.Masters) == 0 {
		return ""
	}
	share := h.Adds / int64(len(h.Masters))
	for _, m := range h.Masters {
		free := m.Free()
		if free < 0 || share <= free {
			continue
		}
		then := "writes fail with OOM"
		if m.Evicts() {
			then = "Redis evicts keys, warmed ones among them"
		}
		what := "this run"
		if len(h.Masters) > 1 {
			what = fmt.Sprintf("this run's share for master %s", m.Addr)
		}
		s := fmt.Sprintf("%s adds about %s to Redis (%d keys, estimated from the sources), which has %s free below maxmemory %s at %s (%s): past that, %s",
			what, mib(share), h.Keys/int64(len(h.Masters)), mib(free), mib(m.Max), m.Addr, m.Policy, then)
		if len(h.Unknown) > 0 {
			s += fmt.Sprintf("; and %s add more, not counted", strings.Join(h.Unknown, ", "))
		}
		return s
	}
	return ""
}
