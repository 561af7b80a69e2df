package rediswrite

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Op is one command waiting to be sent: a write (SET, or a hash), a
// check that reads a key's state before anything is fetched, or a verify
// of many keys after the run.
type Op struct {
	// Cmd is the command; the zero value is SET Key Value PX TTL.
	Cmd   Cmd
	Key   string
	Value []byte
	// Fields are a hash command's field and value pairs, in order.
	Fields []string
	TTL    time.Duration
	// Warm is set before Done when the key was there already and the
	// write left it alone (CmdSetNX, CmdHashNX).
	Warm bool
	// Got is a check's integer reply, set before Done: EXISTS's count,
	// PTTL's milliseconds (-2 no key, -1 no expiry).
	Got int64
	// Keys are a CmdVerify's keys; Codes receives one code per key, set
	// before Done when the reply was read.
	Keys  []string
	Codes []int64
	// Tag is the caller's: Done gets the Op back with it.
	Tag any
	// Took is how long the Op's pipeline took, set before Done.
	Took time.Duration

	// set, args and ttlArg are a SET's command and arguments (see
	// queueSet).
	set    redis.StatusCmd
	args   [6]any
	ttlArg int64
	// tx are the commands before EXEC of a hash sent as a transaction:
	// MULTI and those it queued (see queueHash); txCmds holds them, until
	// the writer takes it back once they are read.
	tx     []redis.Cmder
	txCmds *txCmds
	// checks are a CmdVerify's commands, two per key (see queueChecks).
	checks []redis.Cmder
	// evalFull says Redis did not know the hash script's SHA1: the Op
	// goes again with the script's text.
	evalFull bool
}

// Options size a Writer.
type Options struct {
	// Batch is the most keys in one pipeline (default 1000): one per
	// SET, one per key a check reads.
	Batch int
	// MaxBytes bounds the values in one pipeline (default 4 MiB); a
	// single larger value goes alone.
	MaxBytes int
	// Pipelines is how many pipelines may be in flight at once
	// (default 4): while Redis answers one, the next is being encoded.
	Pipelines int
	// Linger is how long a batch that is not full stays open for more
	// (default 1ms), and only when more than one write was waiting: writes
	// that arrive densely (one per fetched body) then share a round trip
	// instead of paying one each, a lone write goes at once, and a bulk
	// load fills its batches and never waits.
	Linger time.Duration
	// Timeout bounds one pipeline.
	Timeout time.Duration
	// Replicas, when above 0, is how many replicas must confirm a
	// pipeline's writes (WAIT, within half of Timeout) before its Ops are
	// written: a master that is failed over acknowledges writes its
	// successor never sees, and this is how they are found and retried.
	Replicas int
	// Ready, when set, is called before each pipeline is sent: it blocks
	// while Redis is known to be unavailable, and an error from it fails
	// the batch with that error without sending it.
	Ready func(ctx context.Context) error
	// Done is called once for every Op, from a writer goroutine, with nil
	// when the reply to its own command was OK, else why not.
	Done func(op *Op, err error)
}

// DefaultBatch is the pipeline depth when the config sets none: deep
// enough that a bulk load runs at the speed Redis takes commands.
const DefaultBatch = 1000

// Writer batches SETs from many goroutines into pipelines.
type Writer struct {
	rdb  redis.Cmdable
	opts Options
	// tx says pipelines go to one server, where a hash replace may be a
	// transaction of its own; a cluster's are split by key. txs keeps
	// the transactions' commands for reuse.
	tx  bool
	txs sync.Pool

	// turn lets one writer goroutine at a time gather a batch, so that
	// trickling writes fill one pipeline rather than one per goroutine.
	turn  sync.Mutex
	mu    sync.Mutex
	queue []*Op
	// ended is set once the writer's context has ended: nothing is sent
	// any more, and every Op gets that context's error.
	ended  error
	notify chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewWriter starts a writer on rdb. ctx ends pipelines in flight at once
// (a hard stop); Close ends the writer.
func NewWriter(ctx context.Context, rdb redis.Cmdable, o Options) *Writer {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 4 << 20
	}
	if o.Pipelines <= 0 {
		o.Pipelines = 4
	}
	if o.Linger == 0 {
		o.Linger = time.Millisecond
	}
	w := &Writer{rdb: rdb, opts: o, notify: make(chan struct{}, 1), tx: !isCluster(rdb)}
	ctx, w.cancel = context.WithCancel(ctx)
	for range o.Pipelines {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.run(ctx)
		}()
	}
	return w
}

// Submit queues op; Done reports its outcome. It never blocks: the caller
// bounds how many Ops are outstanding.
func (w *Writer) Submit(op *Op) {
	w.mu.Lock()
	if err := w.ended; err != nil {
		w.mu.Unlock()
		w.opts.Done(op, err)
		return
	}
	w.queue = append(w.queue, op)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Pipelines is how many pipelines may be in flight at once.
func (w *Writer) Pipelines() int { return w.opts.Pipelines }

// BatchKeys is the most keys one pipeline carries.
func (w *Writer) BatchKeys() int { return w.opts.Batch }

// Close stops the writer; Ops still queued get context.Canceled.
func (w *Writer) Close() {
	w.cancel()
	w.wg.Wait()
}

// end fails every queued Op, and every Op submitted from now on, with
// err: the writer's context has ended, so none of them will be sent.
func (w *Writer) end(err error) {
	w.mu.Lock()
	if w.ended == nil {
		w.ended = err
	}
	left := w.queue
	w.queue = nil
	w.mu.Unlock()
	for _, op := range left {
		w.opts.Done(op, err)
	}
}

func (w *Writer) run(ctx context.Context) {
	batch := make([]*Op, 0, w.opts.Batch)
	cmds := make([]redis.Cmder, 0, w.opts.Batch)
	for {
		w.turn.Lock()
		batch = w.next(ctx, batch[:0])
		w.turn.Unlock()
		if len(batch) == 0 {
			w.end(ctx.Err())
			return
		}
		cmds = w.flush(ctx, batch, cmds[:0])
		clear(batch)
	}
}

// load is how much a batch carries: the keys its commands touch, which
// Batch bounds, and the bytes of its values, which MaxBytes bounds.
type load struct{ keys, bytes int }

// full says whether a batch carrying l may take no more.
func (w *Writer) full(l load) bool { return l.keys >= w.opts.Batch || l.bytes >= w.opts.MaxBytes }

// next waits for work and takes a batch: whatever is queued, up to the
// limits, kept open up to Linger for more while it is not full and writes
// are arriving densely. It returns an empty batch when ctx ends.
func (w *Writer) next(ctx context.Context, batch []*Op) []*Op {
	var l load
	for len(batch) == 0 {
		batch, l = w.take(batch, l)
		if len(batch) > 0 {
			break
		}
		select {
		case <-w.notify:
		case <-ctx.Done():
			return batch
		}
	}
	if len(batch) < 2 || w.full(l) {
		return batch
	}
	deadline := time.NewTimer(w.opts.Linger)
	defer deadline.Stop()
	for !w.full(l) {
		select {
		case <-w.notify:
			batch, l = w.take(batch, l)
		case <-deadline.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// take moves queued Ops into batch, within the limits; the first Op goes
// whatever its size.
func (w *Writer) take(batch []*Op, l load) ([]*Op, load) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for n < len(w.queue) && (len(batch) == 0 || !w.full(l)) {
		op := w.queue[n]
		batch = append(batch, op)
		l.keys += op.keys()
		l.bytes += op.size()
		n++
	}
	// The rest stays where it is: moving it to the front would copy the
	// whole queue on every take.
	clear(w.queue[:n])
	w.queue = w.queue[n:]
	rest := len(w.queue)
	if rest == 0 {
		w.queue = w.queue[:0]
	}
	if rest > 0 {
		// Another writer may take the rest while this one sends.
		select {
		case w.notify <- struct{}{}:
		default:
		}
	}
	return batch, l
}

// flush sends batch as one pipeline and reports every Op's outcome.
func (w *Writer) flush(ctx context.Context, batch []*Op, cmds []redis.Cmder) []redis.Cmder {
	if w.opts.Ready != nil {
		if err := w.opts.Ready(ctx); err != nil {
			for _, op := range batch {
				w.opts.Done(op, err)
			}
			return cmds
		}
	}
	pctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	var again []*Op
	cmds = w.exchange(pctx, batch, cmds, func(op *Op, err error) {
		if unknownScript(err) && !op.evalFull {
			// Redis forgot the script (a restart, SCRIPT FLUSH, a
			// failover): not the item's failure, and not a write.
			op.evalFull = true
			again = append(again, op)
			return
		}
		w.opts.Done(op, withSlot(err, op.slotKey()))
	})
	if len(again) > 0 {
		cmds = w.exchange(pctx, again, cmds[:0], func(op *Op, err error) {
			w.opts.Done(op, withSlot(err, op.slotKey()))
		})
	}
	return cmds
}

// exchange sends ops as one pipeline and hands each Op's outcome to done.
func (w *Writer) exchange(pctx context.Context, ops []*Op, cmds []redis.Cmder, done func(*Op, error)) []redis.Cmder {
	pipe := w.rdb.Pipeline()
	var tx func() *txCmds
	if w.tx {
		tx = w.txCmds
	}
	for _, op := range ops {
		op.tx, op.checks = op.tx[:0], op.checks[:0]
		cmds = append(cmds, op.queue(pctx, pipe, tx))
	}
	var wait *redis.IntCmd
	if w.opts.Replicas > 0 && writes(ops) {
		wait = redis.NewIntCmd(pctx, "wait", w.opts.Replicas, (w.opts.Timeout / 2).Milliseconds())
		_ = pipe.Process(pctx, wait)
	}
	sent := time.Now()
	_, execErr := pipe.Exec(pctx)
	took := time.Since(sent)
	waitErr := w.replicated(wait)
	failed := wholeFailure(ops, cmds, execErr)
	for i, op := range ops {
		op.Took = took
		err := op.read(cmds[i], failed)
		if t := op.txCmds; t != nil {
			// Read: go-redis is done with them, and so is the Op.
			op.tx, op.txCmds = op.tx[:0], nil
			clear(t.args)
			w.txs.Put(t)
		}
		if err == nil && op.wrote() {
			err = waitErr
		}
		done(op, err)
		cmds[i] = nil
	}
	return cmds[:0]
}

// txCmds is a transaction's commands to reuse, or new ones.
func (w *Writer) txCmds() *txCmds {
	if t, ok := w.txs.Get().(*txCmds); ok {
		return t
	}
	return new(txCmds)
}

// writes says whether batch holds a write, which replicas must confirm;
// checks only read.
func writes(batch []*Op) bool {
	for _, op := range batch {
		if op.Cmd.writes() {
			return true
		}
	}
	return false
}

// replicated is nil when no WAIT was asked for or enough replicas
// confirmed it, else why not.
func (w *Writer) replicated(wait *redis.IntCmd) error {
	if wait == nil {
		return nil
	}
	if err := wait.Err(); err != nil {
		return err
	}
	if n := wait.Val(); n < int64(w.opts.Replicas) {
		return &notReplicatedError{want: w.opts.Replicas, got: n, within: w.opts.Timeout / 2}
	}
	return nil
}

// wholeFailure is Exec's error when the pipeline failed as a whole, nil
// when every command was answered: Exec's error is then the first error
// reply, some command's own, which says nothing about the others.
func wholeFailure(ops []*Op, cmds []redis.Cmder, execErr error) error {
	if execErr == nil || errors.Is(execErr, redis.Nil) {
		return nil
	}
	for i, c := range cmds {
		if c.Err() == execErr {
			return nil
		}
		for _, t := range ops[i].tx {
			if t.Err() == execErr {
				return nil
			}
		}
		for _, t := range ops[i].checks {
			if t.Err() == execErr {
				return nil
			}
		}
	}
	return execErr
}

// isCluster says whether rdb splits its pipelines across servers.
func isCluster(rdb redis.Cmdable) bool {
	if t, ok := rdb.(interface{ IsCluster() bool }); ok {
		return t.IsCluster()
	}
	_, ok := rdb.(*redis.ClusterClient)
	return ok
}
