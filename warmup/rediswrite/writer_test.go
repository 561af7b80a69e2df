package rediswrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// A command is written only when its own reply was OK: a pipeline that
// failed as a whole leaves commands with no error and no reply (go-redis
// does when re-authentication fails), and those are failures too.
func TestReplyErrOnlyOKIsSuccess(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("WRONGPASS from the pipeline")
	tests := []struct {
		name    string
		val     string
		cmdErr  error
		execErr error
		want    error
	}{
		{"OK reply", "OK", nil, nil, nil},
		{"OK reply in a pipeline that failed later", "OK", nil, boom, nil},
		{"no reply, pipeline failed", "", nil, boom, boom},
		{"no reply, no error at all", "", nil, nil, errNoReply},
		{"own error", "", io.EOF, boom, io.EOF},
		{"OK reply, then the cluster pipeline's deadline", "OK", context.DeadlineExceeded, context.DeadlineExceeded, nil},
		{"a reply that is not OK", "QUEUED", nil, nil, errNoReply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := redis.NewStatusCmd(ctx, "set", "k", "v")
			cmd.SetVal(tc.val)
			cmd.SetErr(tc.cmdErr)
			op := &Op{}
			if got := op.read(cmd, wholeFailure([]*Op{op}, []redis.Cmder{cmd}, tc.execErr)); !errors.Is(got, tc.want) {
				t.Fatalf("read = %v, want %v", got, tc.want)
			}
		})
	}
}

// A check's integer cannot tell "no reply" from 0: a pipeline that failed
// as a whole fails it, while another command's error reply in the same
// pipeline (that command's own outcome) does not.
func TestReadIntFailsWithItsPipeline(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("WRONGPASS from the pipeline")
	oom := proto("OOM command not allowed")
	tests := []struct {
		name    string
		val     int64
		cmdErr  error
		other   error
		execErr error
		want    error
		got     int64
	}{
		{"a reply", 7, nil, nil, nil, nil, 7},
		{"no reply, pipeline failed", 0, nil, nil, boom, boom, 0},
		{"another command's error reply", 1, nil, oom, oom, nil, 1},
		{"own error", 0, io.EOF, nil, io.EOF, io.EOF, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := redis.NewIntCmd(ctx, "pttl", "k")
			cmd.SetVal(tc.val)
			cmd.SetErr(tc.cmdErr)
			other := redis.NewStatusCmd(ctx, "set", "o", "v")
			other.SetErr(tc.other)
			op := &Op{Cmd: CmdPTTL, Got: -99}
			err := op.read(cmd, wholeFailure([]*Op{{}, op}, []redis.Cmder{other, cmd}, tc.execErr))
			if !errors.Is(err, tc.want) {
				t.Fatalf("read = %v, want %v", err, tc.want)
			}
			if err == nil && op.Got != tc.got {
				t.Fatalf("Got = %d, want %d", op.Got, tc.got)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	reply := func(s string) error { return proto(s) }
	tests := []struct {
		err  error
		want Class
	}{
		{nil, OK},
		{context.Canceled, Interrupted},
		{fmt.Errorf("pipeline: %w", context.Canceled), Interrupted},
		{context.DeadlineExceeded, Unavailable},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, Unavailable},
		{io.EOF, Unavailable},
		{errNoReply, Retry},
		{reply("LOADING Redis is loading the dataset in memory"), Unavailable},
		{reply("MASTERDOWN Link with MASTER is down"), Unavailable},
		{reply("CLUSTERDOWN The cluster is down"), Unavailable},
		{reply("READONLY You can't write against a read only replica."), Unavailable},
		{reply("WRONGPASS invalid username-password pair or user is disabled."), Unavailable},
		{reply("NOAUTH Authentication required."), Unavailable},
		{reply("TRYAGAIN Multiple keys request during rehashing of slot"), Retry},
		{reply("BUSY Redis is busy running a script."), Retry},
		{reply("OOM command not allowed when used memory > 'maxmemory'."), Reject},
		{reply("NOPERM this user has no permissions to access one of the keys"), Reject},
		{reply("WRONGTYPE Operation against a key holding the wrong kind of value"), Reject},
		{reply("MOVED 3999 127.0.0.1:7001"), Retry},
		{reply("ASK 3999 127.0.0.1:7001"), Retry},
		{reply("CLUSTERDOWN Hash slot not served"), Retry},
		{withSlot(reply("CLUSTERDOWN Hash slot not served"), "user:1"), Retry},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// proto makes an error reply as go-redis returns them.
type proto string

func (p proto) Error() string { return string(p) }
func (proto) RedisError()     {}

// collect runs ops through a writer on rdb and returns each key's error.
func collect(t *testing.T, rdb redis.Cmdable, ops []*Op) map[string]error {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]error{}
	w := NewWriter(context.Background(), rdb, Options{Batch: 100, Timeout: 2 * time.Second, Done: func(op *Op, err error) {
		mu.Lock()
		out[op.Key] = err
		mu.Unlock()
		wg.Done()
	}})
	defer w.Close()
	wg.Add(len(ops))
	for _, op := range ops {
		w.Submit(op)
	}
	wg.Wait()
	return out
}

func opsFor(n int, key func(int) string) []*Op {
	ops := make([]*Op, n)
	for i := range ops {
		ops[i] = &Op{Key: key(i), Value: []byte(fmt.Sprint(i)), TTL: time.Hour}
	}
	return ops
}

// Against a real server: every Op gets exactly one outcome; one refused
// key fails alone, not its pipeline; a wrong password fails every Op and
// writes nothing.
func TestWriterOutcomes(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "right-pw")
	ctx := context.Background()
	if err := srv.Client.Do(ctx, "ACL", "SETUSER", "warmer", "on", ">w-pw", "~ok:*", "+set", "+ping").Err(); err != nil {
		t.Fatal(err)
	}
	t.Run("per-command errors", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "warmer", Password: "w-pw", MaxRetries: -1})
		defer rdb.Close()
		got := collect(t, rdb, opsFor(1000, func(i int) string {
			if i%100 == 7 {
				return fmt.Sprintf("no:%d", i)
			}
			return fmt.Sprintf("ok:%d", i)
		}))
		for k, err := range got {
			if (k[:3] == "no:") != (err != nil) || (err != nil && Classify(err) != Reject) {
				t.Fatalf("%s: %v", k, err)
			}
		}
		if n := srv.Client.DBSize(ctx).Val(); n != 990 {
			t.Fatalf("%d keys, want 990", n)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "wrong-pw", MaxRetries: -1})
		defer rdb.Close()
		for k, err := range collect(t, rdb, opsFor(300, func(i int) string { return fmt.Sprintf("pw:%d", i) })) {
			if err == nil || Classify(err) != Unavailable {
				t.Fatalf("%s: %v, want an Unavailable failure", k, err)
			}
		}
		if n := len(srv.Keys("pw:*")); n != 0 {
			t.Fatalf("%d keys written with a wrong password", n)
		}
	})
}

// A writer whose context ended fails what is queued and what comes after,
// and never sends it.
func TestWriterEndedContextFailsEverything(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	blocked := make(chan struct{})
	w := NewWriter(ctx, rdb, Options{Timeout: time.Second, Ready: func(ctx context.Context) error {
		<-blocked
		return ctx.Err()
	}, Done: func(_ *Op, err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		wg.Done()
	}})
	defer w.Close()
	wg.Add(200)
	for _, op := range opsFor(100, func(i int) string { return fmt.Sprintf("a:%d", i) }) {
		w.Submit(op)
	}
	cancel()
	close(blocked)
	for _, op := range opsFor(100, func(i int) string { return fmt.Sprintf("b:%d", i) }) {
		w.Submit(op)
	}
	wg.Wait()
	for _, err := range errs {
		if Classify(err) != Interrupted {
			t.Fatalf("outcome %v, want interrupted", err)
		}
	}
	if n := srv.Client.DBSize(context.Background()).Val(); n != 0 {
		t.Fatalf("%d keys written after the context ended", n)
	}
}

// Checks and writes share pipelines, each Op read from its own reply:
// NX leaves a key that was there (Warm) and writes one that was not;
// EXISTS and PTTL say what Redis said, -1 and -2 included.
func TestWriterCmds(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	srv.Client.Set(ctx, "old", "app", time.Minute)
	srv.Client.Set(ctx, "forever", "app", 0)
	ops := []*Op{
		{Cmd: CmdSetNX, Key: "old", Value: []byte("warmer"), TTL: time.Hour},
		{Cmd: CmdSetNX, Key: "new", Value: []byte("warmer"), TTL: time.Hour},
		{Cmd: CmdExists, Key: "forever"},
		{Cmd: CmdExists, Key: "absent"},
		{Cmd: CmdPTTL, Key: "old"},
		{Cmd: CmdPTTL, Key: "forever"},
		{Cmd: CmdPTTL, Key: "absent"},
	}
	ops[0].Got, ops[1].Got = 5, 5
	for k, err := range collect(t, srv.Client, ops) {
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if !ops[0].Warm || ops[1].Warm {
		t.Errorf("Warm = %v, %v; want true for the key that was there, false for the new one", ops[0].Warm, ops[1].Warm)
	}
	if v := srv.Client.Get(ctx, "old").Val(); v != "app" {
		t.Errorf("old = %q, want the app's value left alone", v)
	}
	if v := srv.Client.Get(ctx, "new").Val(); v != "warmer" {
		t.Errorf("new = %q, want written", v)
	}
	if ops[2].Got != 1 || ops[3].Got != 0 {
		t.Errorf("EXISTS = %d, %d; want 1, 0", ops[2].Got, ops[3].Got)
	}
	if ms := ops[4].Got; ms <= 0 || ms > time.Minute.Milliseconds() {
		t.Errorf("PTTL old = %d, want within a minute", ms)
	}
	if ops[5].Got != -1 || ops[6].Got != -2 {
		t.Errorf("PTTL = %d, %d; want -1 (no expiry), -2 (no key)", ops[5].Got, ops[6].Got)
	}
}

// A check reads, for each of its keys, one code: absent, of another type,
// without a TTL, or its TTL in milliseconds. A pipeline stops taking ops
// once it holds Batch keys, however they are split into checks.
func TestCheckCodesAndKeysPerPipeline(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	srv.Client.Set(ctx, "ttl", "v", time.Hour)
	srv.Client.Set(ctx, "persistent", "v", 0)
	srv.Client.HSet(ctx, "hash", "f", "v")
	type result struct {
		got []int64
		err error
	}
	done := make(chan result, 2)
	w := NewWriter(ctx, srv.Client, Options{Batch: 4, Timeout: 5 * time.Second, Done: func(op *Op, err error) {
		done <- result{op.Codes, err}
	}})
	defer w.Close()
	w.Submit(&Op{Cmd: CmdVerify, Keys: []string{"ttl", "persistent", "hash", "absent"}, Value: []byte("string")})
	w.Submit(&Op{Cmd: CmdVerify, Keys: []string{"hash"}, Value: []byte("hash")})
	for range 2 {
		r := <-done
		switch {
		case r.err != nil:
			t.Fatal(r.err)
		case len(r.got) == 1:
			if r.got[0] != CheckNoTTL {
				t.Fatalf("hash checked as a hash: %v, want [%d]", r.got, CheckNoTTL)
			}
		case r.got[0] <= 0 || r.got[0] > 3600_000 || r.got[1] != CheckNoTTL || r.got[2] != CheckWrongType || r.got[3] != CheckMissing:
			t.Fatalf("codes %v, want [ttl, %d, %d, %d]", r.got, CheckNoTTL, CheckWrongType, CheckMissing)
		}
	}

	w2 := &Writer{opts: Options{Batch: 4, MaxBytes: 1 << 20}}
	w2.queue = []*Op{{Cmd: CmdVerify, Keys: make([]string, 3)}, {Cmd: CmdVerify, Keys: make([]string, 3)}, {Key: "k"}}
	batch, l := w2.take(nil, load{})
	if len(batch) != 2 || l.keys != 6 {
		t.Fatalf("took %d ops of %d keys; want two checks, then full", len(batch), l.keys)
	}
}
