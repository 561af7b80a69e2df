package warmup

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The bulk path serves loaders that write items without fetching: each of a
// few workers reads a batch of items under one lock, renders them, and
// writes them in one pipeline it runs itself. There is no goroutine or
// channel hand-off per item, which is what lets a plain file load run near
// the speed of redis-cli --pipe. Failed commands are retried as a smaller
// batch with the same backoff and attempt budget as single items.

// bulkShape returns how many bulk workers to run and how many items each
// takes at a time, so that workers × batch stays within the loader's
// concurrency: the items in flight.
func bulkShape(concurrency int) (workers, batch int) {
	workers = min(4, concurrency)
	batch = min(1000, concurrency/workers)
	return workers, max(batch, 1)
}

// useBulk reports whether a loader's items take the bulk path.
func (e *Engine) useBulk(lr *loaderRun) bool {
	return lr.cfg.Fetch == nil && lr.limiter == nil && e.rdb != nil
}

// bulkWorker drains src in batches until it is exhausted or the run stops.
func (e *Engine) bulkWorker(lr *loaderRun, src Source, srcMu *sync.Mutex, retry bool, batch int) {
	ws := &workerState{}
	items := make([]Item, 0, batch)
	runs := make([]itemRun, 0, batch)
	pending := make([]*itemRun, 0, batch)
	cmds := make([]*redis.StatusCmd, 0, batch)
	for e.stopCtx.Err() == nil {
		items = items[:0]
		srcMu.Lock()
		for len(items) < batch {
			it, ok := src.Next()
			if !ok {
				break
			}
			items = append(items, it)
		}
		if !retry {
			lr.read.Add(int64(len(items)))
		}
		srcMu.Unlock()
		if len(items) == 0 {
			return
		}
		runs = runs[:0]
		for i := range items {
			runs = append(runs, itemRun{e: e, lr: lr, it: &items[i], retry: retry, attempts: items[i].Attempts})
		}
		e.bulkBatch(lr, runs, pending, cmds, ws)
		clear(items)
	}
}

// bulkBatch settles every item of runs.
func (e *Engine) bulkBatch(lr *loaderRun, runs []itemRun, pending []*itemRun, cmds []*redis.StatusCmd, ws *workerState) {
	n := int64(len(runs))
	lr.inflight.Add(n)
	defer lr.inflight.Add(-n)
	defer func() {
		if p := recover(); p != nil {
			for i := range runs {
				runs[i].recover(p)
			}
		}
	}()
	pending = pending[:0]
	for i := range runs {
		r := &runs[i]
		if r.prepare(ws) {
			r.value = r.it.StringValue()
			pending = append(pending, r)
		}
	}
	budget := 1 + e.cfg.Run.Retries
	for a := 0; a < budget && len(pending) > 0; a++ {
		if a > 0 && !e.sleep(e.backoff(a)) {
			break
		}
		if !e.acquire(lr, len(pending)) {
			break
		}
		start := time.Now()
		cmds = e.pipelineSet(lr, pending, cmds[:0])
		took := time.Since(start)
		next := pending[:0]
		var ok int64
		for i, r := range pending {
			r.started()
			err := cmds[i].Err()
			cmds[i] = nil
			if err == nil {
				r.fulfil()
				ok++
				continue
			}
			ie := e.writeFailure(e.hardCtx, r.key, err)
			if !ie.transient || e.hardCtx.Err() != nil {
				r.reject(ie.stage, ie.msg)
				continue
			}
			r.last = ie
			next = append(next, r)
		}
		lr.hist.observe(took, ok)
		pending = next
	}
	for _, r := range pending {
		r.giveUp(r.last)
	}
}

// pipelineSet writes the items in one pipeline, bounded by the timeout,
// and gives back the len(runs) concurrency slots they hold, even if it
// panics.
func (e *Engine) pipelineSet(lr *loaderRun, runs []*itemRun, cmds []*redis.StatusCmd) []*redis.StatusCmd {
	defer e.release(lr, len(runs))
	ctx, cancel := context.WithTimeout(e.hardCtx, e.cfg.Run.Timeout)
	defer cancel()
	pipe := e.rdb.Pipeline()
	for _, r := range runs {
		cmds = append(cmds, pipe.Set(ctx, r.key, r.value, lr.cfg.TTL))
	}
	_, _ = pipe.Exec(ctx) // each command's own error is read by the caller
	return cmds
}
