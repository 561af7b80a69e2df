package rediswrite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// A hash replace is all or nothing: when Redis refuses one of its
// commands (here PEXPIRE, which the user may not run), the key keeps its
// old fields and TTL, and the item is rejected with Redis's reason. A
// script would have run DEL and HSET before PEXPIRE failed, leaving the
// new fields without their TTL.
func TestHashReplaceAllOrNothing(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := srv.Client.Do(ctx, "ACL", "SETUSER", "warmer", "on", ">w-pw", "~*", "+ping", "+del", "+hset",
		"+multi", "+exec", "+discard", "+eval", "+evalsha", "-pexpire").Err(); err != nil {
		t.Fatal(err)
	}
	srv.Client.HSet(ctx, "h:old", "old", "x")
	srv.Client.Expire(ctx, "h:old", time.Hour)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "warmer", Password: "w-pw", MaxRetries: -1})
	defer rdb.Close()
	err := collect(t, rdb, []*Op{hashOp("h:old", 3, 10*time.Minute)})["h:old"]
	if err == nil || Classify(err) != Reject || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("err = %v, want a NOPERM rejection", err)
	}
	if got := srv.Client.HGetAll(ctx, "h:old").Val(); !maps.Equal(got, map[string]string{"old": "x"}) {
		t.Errorf("h:old = %v after a refused replace, want its old fields", got)
	}
	if ttl := srv.Client.PTTL(ctx, "h:old").Val(); ttl <= 59*time.Minute {
		t.Errorf("h:old TTL %s after a refused replace, want its old hour", ttl)
	}
}

// A user who may not run scripts can still write hashes to one server;
// mode "missing" needs a script and says so when refused.
func TestHashWithoutScripting(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := srv.Client.Do(ctx, "ACL", "SETUSER", "warmer", "on", ">w-pw", "~*", "+@all", "-@scripting").Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "warmer", Password: "w-pw", MaxRetries: -1})
	defer rdb.Close()
	nx := hashOp("h:nx", 2, time.Hour)
	nx.Cmd = CmdHashNX
	out := collect(t, rdb, []*Op{hashOp("h:a", 2, time.Hour), nx})
	if err := out["h:a"]; err != nil {
		t.Fatalf("h:a: %v", err)
	}
	if got := srv.Client.HGetAll(ctx, "h:a").Val(); !maps.Equal(got, wantFields(2)) {
		t.Errorf("h:a = %v", got)
	}
	if err := out["h:nx"]; err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("h:nx: %v, want NOPERM", err)
	}
}

// Redis forgetting the hash script (a restart, SCRIPT FLUSH, a failover)
// costs nothing: the writes that named it by its SHA1 go again with its
// text at once, each reported once, written, never rejected.
func TestHashScriptForgotten(t *testing.T) {
	t.Run("one server, mode missing", func(t *testing.T) {
		srv := redistest.Start(t)
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
		defer rdb.Close()
		for round := range 3 {
			if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			ops := opsOf(50, func(i int) *Op {
				op := hashOp(fmt.Sprintf("h:%d:%d", round, i), 2, time.Hour)
				op.Cmd = CmdHashNX
				return op
			})
			checkWritten(t, rdb, ops)
		}
	})
	t.Run("the demo's embedded Redis, mode missing", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr(), MaxRetries: -1})
		defer rdb.Close()
		checkWritten(t, rdb, opsOf(20, func(i int) *Op {
			op := hashOp(fmt.Sprintf("h:%d", i), 2, time.Hour)
			op.Cmd = CmdHashNX
			return op
		}))
	})
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t, 3, 0)
		tg, err := Connect(context.Background(), config.RedisConfig{URL: c.URL()}, 8, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		for round := range 3 {
			if err := c.Client.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
				return m.ScriptFlush(ctx).Err()
			}); err != nil {
				t.Fatal(err)
			}
			checkWritten(t, tg, opsOf(200, func(i int) *Op { return hashOp(fmt.Sprintf("h:%d:%d", round, i), 3, time.Hour) }))
		}
	})
}

func opsOf(n int, op func(int) *Op) []*Op {
	ops := make([]*Op, n)
	for i := range ops {
		ops[i] = op(i)
	}
	return ops
}

// checkWritten writes ops and checks that each was written as asked.
func checkWritten(t *testing.T, rdb redis.UniversalClient, ops []*Op) {
	t.Helper()
	for k, err := range collect(t, rdb, ops) {
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	for _, op := range ops {
		if got := rdb.HGetAll(context.Background(), op.Key).Val(); len(got) != len(op.Fields)/2 {
			t.Fatalf("%s = %v", op.Key, got)
		}
	}
}

// A transaction's item is written only when every reply of it says so:
// MULTI's OK, each command QUEUED, and EXEC's answers none an error, HSET
// having added fields and PEXPIRE having found the key.
func TestReadTx(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("connection reset")
	noperm := proto("NOPERM this user has no permissions to run the 'pexpire' command")
	status := func(val string, err error) redis.Cmder {
		c := redis.NewStatusCmd(ctx, "x")
		c.SetVal(val)
		c.SetErr(err)
		return c
	}
	ok := func() []redis.Cmder {
		return []redis.Cmder{status("OK", nil), status("QUEUED", nil), status("QUEUED", nil), status("QUEUED", nil)}
	}
	tests := []struct {
		name   string
		tx     []redis.Cmder
		exec   []any
		err    error
		failed error
		want   error // nil: written; errNoReply: some error, not a reply
	}{
		{name: "all answered", tx: ok(), exec: []any{int64(0), int64(3), int64(1)}},
		{name: "a command refused when queued", tx: func() []redis.Cmder { c := ok(); c[3] = status("", noperm); return c }(),
			err: proto("EXECABORT Transaction discarded"), want: noperm},
		{name: "an answer is an error", tx: ok(), exec: []any{int64(1), proto("OOM"), int64(1)}, want: proto("OOM")},
		{name: "PEXPIRE found no key", tx: ok(), exec: []any{int64(0), int64(3), int64(0)}, want: errNoReply},
		{name: "fewer answers", tx: ok(), exec: []any{int64(0), int64(3)}, want: errNoReply},
		{name: "the pipeline failed", tx: []redis.Cmder{status("", nil), status("", nil), status("", nil), status("", nil)}, failed: boom, want: boom},
		{name: "EXEC unanswered", tx: ok(), failed: boom, want: boom},
		{name: "nothing at all", tx: ok(), want: errNoReply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exec := redis.NewSliceCmd(ctx, "exec")
			exec.SetVal(tc.exec)
			exec.SetErr(tc.err)
			if tc.exec == nil && tc.err == nil && tc.failed != nil {
				exec.SetErr(tc.failed)
			}
			op := &Op{Cmd: CmdHash, tx: tc.tx}
			got := op.read(exec, tc.failed)
			switch {
			case tc.want == nil && got != nil:
				t.Fatalf("read = %v, want written", got)
			case tc.want != nil && got == nil:
				t.Fatalf("read = nil, want %v", tc.want)
			case tc.want != nil && !errors.Is(got, tc.want) && got.Error() != tc.want.Error():
				t.Fatalf("read = %v, want %v", got, tc.want)
			}
		})
	}
}

// Where a hash goes as a script (mode "missing", a cluster), a command the
// user may not run refuses the whole replace before anything is written:
// Redis does not undo a script's earlier writes, and a hash left without
// its TTL would never expire while mode "missing" called it warm.
func TestHashScriptRefusedWritesNothing(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := srv.Client.Do(ctx, "ACL", "SETUSER", "warmer", "on", ">w-pw", "~*", "+@all", "-pexpire").Err(); err != nil {
		t.Fatal(err)
	}
	srv.Client.HSet(ctx, "h:old", "old", "x")
	srv.Client.Expire(ctx, "h:old", time.Hour)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "warmer", Password: "w-pw", MaxRetries: -1})
	defer rdb.Close()
	nx := hashOp("h:nx", 2, time.Hour)
	nx.Cmd = CmdHashNX
	// Without a transaction (as in a cluster pipeline), an overwrite goes
	// as the script too.
	out := collectScript(t, rdb, []*Op{nx, hashOp("h:old", 3, 10*time.Minute)})
	for key, err := range out {
		if err == nil || Classify(err) != Reject || !strings.Contains(err.Error(), "NOPERM") || !strings.Contains(err.Error(), "PEXPIRE") {
			t.Errorf("%s: err = %v, want a NOPERM rejection naming PEXPIRE", key, err)
		}
	}
	if n := srv.Client.Exists(ctx, "h:nx").Val(); n != 0 {
		t.Errorf("h:nx written (TTL %s) by a refused replace", srv.Client.PTTL(ctx, "h:nx").Val())
	}
	if got := srv.Client.HGetAll(ctx, "h:old").Val(); !maps.Equal(got, map[string]string{"old": "x"}) {
		t.Errorf("h:old = %v after a refused replace, want its old fields", got)
	}
}

// collectScript sends ops in one pipeline without transactions, as a
// cluster's writer does, and returns each key's outcome.
func collectScript(t *testing.T, rdb redis.Cmdable, ops []*Op) map[string]error {
	t.Helper()
	ctx := context.Background()
	// The writer sends the script's text again on NOSCRIPT; here Redis
	// knows it beforehand.
	if err := writeHash.Load(ctx, rdb).Err(); err != nil {
		t.Fatal(err)
	}
	pipe := rdb.Pipeline()
	cmds := make([]redis.Cmder, len(ops))
	for i, op := range ops {
		cmds[i] = op.queue(ctx, pipe, nil)
	}
	_, execErr := pipe.Exec(ctx)
	failed := wholeFailure(ops, cmds, execErr)
	out := map[string]error{}
	for i, op := range ops {
		out[op.Key] = op.read(cmds[i], failed)
	}
	return out
}
