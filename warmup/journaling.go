package warmup

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/journal"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// markEvery is how often the journal gets each loader's low-water mark:
// a kill -9 loses at most this much of the settled items' record.
const markEvery = time.Second

// JournalHeader is the header of a journal for a run of cfg as shard:
// config path and hash (given by the caller, who read the file), shard,
// loaders.
func JournalHeader(cfg *config.Config, shard Shard, configHash string) journal.Header {
	h := journal.Header{Config: cfg.Path, ConfigHash: configHash, Started: time.Now().UTC()}
	if shard.Set() {
		h.Shard = shard.String()
	}
	for _, l := range cfg.Loaders {
		h.Loaders = append(h.Loaders, l.Name)
	}
	return h
}

// openLedger gives every loader its rejection store: in the journal the
// options name, else in an unlinked temporary file; only when neither
// can be written do rejections stay in memory.
func (e *Engine) openLedger() {
	e.jnl = e.opts.Journal
	if e.jnl == nil {
		if j, err := journal.CreateTemp(JournalHeader(e.cfg, e.opts.Shard, "")); err == nil {
			e.jnl, e.ownsJournal = j, true
		}
	}
	for i, lr := range e.loaders {
		lr.store.idx, lr.store.jnl = i, e.jnl
		lr.store.newGen(false)
	}
}

// markLoop writes the loaders' marks every markEvery until ctx ends.
func (e *Engine) markLoop(ctx context.Context) {
	t := time.NewTicker(markEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			settled := e.whenWorkStarts()
			e.writeMarks()
			// Settled before these marks: they stand until work starts.
			if settled != nil {
				t.Stop()
				if !e.sleepWhileSettled(ctx, settled) {
					return
				}
				t.Reset(markEvery)
			}
		}
	}
}

// writeMarks appends every loader's low-water mark and syncs the journal.
func (e *Engine) writeMarks() {
	if e.jnl == nil {
		return
	}
	for _, lr := range e.loaders {
		lr.mu.Lock()
		seq, at := lr.window.mark()
		if lr.resume != nil && lr.window.inFlight() == 0 {
			at = *lr.resume
		}
		m := journal.Mark{Seq: seq, Fulfilled: lr.fulfilled, Warm: lr.warm, Rejected: lr.rejected}
		lr.mu.Unlock()
		m.At, _ = json.Marshal(at)
		_ = e.jnl.Append(journal.Record{Kind: journal.KindMark, Loader: lr.store.idx, Mark: &m})
	}
	_ = e.jnl.Sync()
}

// JournalErr says why the run's journal could not be written, or nil.
func (e *Engine) JournalErr() error {
	if e.jnl == nil {
		return nil
	}
	return e.jnl.Err()
}

// EndJournal marks the run's journal finished (its report is written):
// no later run resumes it. Call it after Wait.
func (e *Engine) EndJournal() error {
	if e.jnl == nil || e.ownsJournal {
		return nil
	}
	e.writeMarks()
	return e.jnl.End()
}

// closeLedger closes the journal, which stays resumable unless
// EndJournal ended it; a temporary one is gone with it.
func (e *Engine) closeLedger() {
	if e.jnl == nil {
		return
	}
	e.writeMarks()
	_ = e.jnl.Close()
}

// StartResumed continues the unfinished run rp records: per loader, it
// counts the items settled before its mark as that run did, retries the
// standing rejections (and reads the in-flight window again), and reads
// the source on from the mark. An error means nothing was started.
func (e *Engine) StartResumed(rp *journal.Replay) error {
	if sh := e.opts.Shard; rp.Header.Shard != "" && (!sh.Set() || sh.String() != rp.Header.Shard) || rp.Header.Shard == "" && sh.Set() {
		return fmt.Errorf("the journal is of shard %q, this run of %q", rp.Header.Shard, e.opts.Shard.String())
	}
	e.jnl.SetGen(rp.Gens)
	rests := map[*loaderRun]source.Source{}
	closeAll := func() {
		for _, s := range rests {
			s.Close()
		}
	}
	for i, name := range rp.Header.Loaders {
		lr, ok := e.byName[name]
		if !ok {
			closeAll()
			return fmt.Errorf("the journal names loader %q, which is not in %s", name, e.cfg.Path)
		}
		src, err := e.resumeLoader(lr, rp, i)
		if err != nil {
			closeAll()
			return fmt.Errorf("loader %s: %w", name, err)
		}
		rests[lr] = src
	}
	// The new journal has the old one's rejections now; its marks make
	// it whole before anything else is read.
	e.writeMarks()
	// The journal does not say which Redis processes acknowledged the
	// crashed run's writes, and Redis may have restarted since: its keys
	// are in doubt, re-checked when this run settles.
	e.restart.after(nil, true)
	e.begin()
	for _, lr := range e.loaders {
		src, ok := rests[lr]
		if !ok {
			e.startFirstPass(lr)
			continue
		}
		if take := lr.takeRetryable(""); take != nil {
			e.startFeed(lr, take, passRetry)
		}
		e.startFeed(lr, &firstPass{lr: lr, src: src}, passFirst)
	}
	e.busyDone()
	return nil
}

// resumeLoader sets lr's ledger as the journal's run left loader i at
// its mark, and opens its source there.
func (e *Engine) resumeLoader(lr *loaderRun, rp *journal.Replay, i int) (source.Source, error) {
	seq, at := int64(1), (*source.Resume)(nil)
	if m := rp.Loaders[i].Mark; m != nil {
		seq = m.Seq
		at = new(source.Resume)
		if err := json.Unmarshal(m.At, at); err != nil {
			return nil, fmt.Errorf("journal mark: %w", err)
		}
	}
	src, err := source.OpenContext(e.stopCtx, lr.cfg.Items, at)
	if err != nil {
		return nil, err
	}
	var rerr error
	var n int64
	lr.mu.Lock()
	for rec := range rp.Rejections(i, &rerr) {
		var r Rejection
		if err := json.Unmarshal(rec.Rejection, &r); err != nil {
			rerr = err
			break
		}
		lr.addRejectionLocked(r, rec.Seq, false)
		n++
	}
	lr.read = seq - 1
	lr.fulfilled = max(0, lr.read-n)
	lr.read = lr.fulfilled + n
	start := src.Resume()
	lr.window.startAt(seq, start)
	lr.mu.Unlock()
	if rerr != nil {
		src.Close()
		return nil, fmt.Errorf("journal: %w", rerr)
	}
	if t := e.shareOf(src.Total()); t >= 0 {
		lr.total.Store(lr.read + t)
	}
	lr.reviver.Follow(src)
	return src, nil
}
