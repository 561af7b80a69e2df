package rediswrite

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// hashOp is a CmdHash of n fields f0=v0, f1=v1, …
func hashOp(key string, n int, ttl time.Duration) *Op {
	op := &Op{Cmd: CmdHash, Key: key, TTL: ttl}
	for i := range n {
		op.Fields = append(op.Fields, "f"+strconv.Itoa(i), "v"+strconv.Itoa(i))
	}
	return op
}

func wantFields(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["f"+strconv.Itoa(i)] = "v" + strconv.Itoa(i)
	}
	return m
}

// A hash write replaces the key whole: the fields it names, none of an
// older hash's, the TTL asked for; a hash of thousands of fields too; a
// key of another type is replaced, not refused; a hash without fields is
// an error, never an OK for a key that is not there.
func TestHashWrite(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer rdb.Close()
	checkHashWrites(t, rdb, true)
}

// The demo's embedded Redis runs the same script.
func TestHashWriteMiniredis(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer rdb.Close()
	checkHashWrites(t, rdb, false)
}

// A cluster pipeline routes each hash write to its key's master.
func TestHashWriteCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	tg, err := Connect(context.Background(), config.RedisConfig{URL: c.URL()}, 8, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ops := make([]*Op, 200)
	for i := range ops {
		ops[i] = hashOp(fmt.Sprintf("h:%d", i), 3, time.Hour)
	}
	for k, err := range collect(t, tg, ops) {
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	for i := range ops {
		if got := tg.HGetAll(context.Background(), ops[i].Key).Val(); !maps.Equal(got, wantFields(3)) {
			t.Fatalf("%s = %v", ops[i].Key, got)
		}
	}
}

func checkHashWrites(t *testing.T, rdb *redis.Client, real bool) {
	ctx := context.Background()
	rdb.HSet(ctx, "h:stale", "old", "x", "f0", "old")
	rdb.Set(ctx, "h:string", "was a string", 0)
	rdb.HSet(ctx, "h:empty", "keep", "me")
	rdb.Expire(ctx, "h:empty", time.Hour)
	tests := []struct {
		op     *Op
		fields int
		ttl    time.Duration
		fails  bool
	}{
		{op: hashOp("h:new", 3, time.Hour), fields: 3, ttl: time.Hour},
		{op: hashOp("h:stale", 2, 30*time.Minute), fields: 2, ttl: 30 * time.Minute},
		{op: hashOp("h:string", 1, time.Hour), fields: 1, ttl: time.Hour},
		{op: hashOp("h:forever", 2, 0), fields: 2, ttl: -1},
		{op: hashOp("h:big", 5000, time.Hour), fields: 5000, ttl: time.Hour},
		{op: hashOp("h:empty", 0, time.Hour), fails: true},
	}
	var ops []*Op
	for _, tc := range tests {
		ops = append(ops, tc.op)
	}
	out := collect(t, rdb, ops)
	for _, tc := range tests {
		key := tc.op.Key
		err := out[key]
		if tc.fails {
			if err == nil || Classify(err) != Reject {
				t.Errorf("%s: %v, want a rejection", key, err)
			}
			if got := rdb.HGetAll(ctx, key).Val(); !maps.Equal(got, map[string]string{"keep": "me"}) {
				t.Errorf("%s: a failed write changed it to %v", key, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if got := rdb.HGetAll(ctx, key).Val(); !maps.Equal(got, wantFields(tc.fields)) {
			t.Errorf("%s: %d fields, want %d (%v)", key, len(got), tc.fields, first(got))
		}
		ttl := rdb.PTTL(ctx, key).Val()
		switch {
		case tc.ttl < 0 && ttl != -1 && real:
			t.Errorf("%s: TTL %s, want none", key, ttl)
		case tc.ttl > 0 && (ttl <= tc.ttl-time.Minute || ttl > tc.ttl):
			t.Errorf("%s: TTL %s, want about %s", key, ttl, tc.ttl)
		}
	}
}

func first(m map[string]string) string {
	for k, v := range m {
		return k + "=" + v
	}
	return ""
}

// A hash write in mode "missing" leaves a key that is there alone, of
// whatever type, and says so (Warm); an absent key is written whole with
// its TTL.
func TestHashWriteOnlyIfAbsent(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer rdb.Close()
	ctx := context.Background()
	rdb.HSet(ctx, "h:there", "app", "wrote")
	rdb.Set(ctx, "h:string", "app value", time.Minute)
	ops := []*Op{hashOp("h:there", 2, time.Hour), hashOp("h:string", 2, time.Hour), hashOp("h:absent", 2, time.Hour)}
	for _, op := range ops {
		op.Cmd = CmdHashNX
	}
	for k, err := range collect(t, rdb, ops) {
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if !ops[0].Warm || !ops[1].Warm || ops[2].Warm {
		t.Fatalf("warm = %v %v %v, want true true false", ops[0].Warm, ops[1].Warm, ops[2].Warm)
	}
	if got := rdb.HGetAll(ctx, "h:there").Val(); !maps.Equal(got, map[string]string{"app": "wrote"}) {
		t.Errorf("h:there changed to %v", got)
	}
	if got := rdb.Get(ctx, "h:string").Val(); got != "app value" {
		t.Errorf("h:string changed to %q", got)
	}
	if got := rdb.HGetAll(ctx, "h:absent").Val(); !maps.Equal(got, wantFields(2)) {
		t.Errorf("h:absent = %v", got)
	}
	if ttl := rdb.PTTL(ctx, "h:absent").Val(); ttl <= 59*time.Minute {
		t.Errorf("h:absent TTL %s, want about 1h", ttl)
	}
}

// A SET writes its value and the TTL asked for, whatever its shape:
// whole seconds, milliseconds, none, the key's own (KEEPTTL), an empty
// value; SET NX leaves a key that is there alone and says so (Warm).
func TestSetWrites(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer rdb.Close()
	ctx := context.Background()
	rdb.Set(ctx, "s:keep", "old", time.Hour)
	rdb.Set(ctx, "s:there", "theirs", 2*time.Hour)
	tests := []struct {
		op        *Op
		value     string
		ttl, slop time.Duration // want a TTL in (ttl-slop, ttl]; -1 none
		warm      bool
	}{
		{op: &Op{Key: "s:hour", Value: []byte("v"), TTL: time.Hour}, value: "v", ttl: time.Hour, slop: time.Minute},
		{op: &Op{Key: "s:ms", Value: []byte("v"), TTL: 1500 * time.Millisecond}, value: "v", ttl: 1500 * time.Millisecond, slop: time.Second},
		{op: &Op{Key: "s:forever", Value: []byte("v")}, value: "v", ttl: -1},
		{op: &Op{Key: "s:keep", Value: []byte("new"), TTL: redis.KeepTTL}, value: "new", ttl: time.Hour, slop: time.Minute},
		{op: &Op{Key: "s:empty", TTL: time.Hour}, value: "", ttl: time.Hour, slop: time.Minute},
		{op: &Op{Cmd: CmdSetNX, Key: "s:cold", Value: []byte("v"), TTL: time.Hour}, value: "v", ttl: time.Hour, slop: time.Minute},
		{op: &Op{Cmd: CmdSetNX, Key: "s:there", Value: []byte("v"), TTL: time.Hour}, value: "theirs", ttl: 2 * time.Hour, slop: time.Minute, warm: true},
	}
	var ops []*Op
	for _, tc := range tests {
		ops = append(ops, tc.op)
	}
	out := collect(t, rdb, ops)
	for _, tc := range tests {
		key := tc.op.Key
		if err := out[key]; err != nil || tc.op.Warm != tc.warm {
			t.Errorf("%s: %v, warm %v; want written, warm %v", key, err, tc.op.Warm, tc.warm)
			continue
		}
		if got := rdb.Get(ctx, key).Val(); got != tc.value {
			t.Errorf("%s holds %q, want %q", key, got, tc.value)
		}
		ttl := rdb.PTTL(ctx, key).Val()
		if tc.ttl < 0 && ttl != -1 || tc.ttl > 0 && (ttl > tc.ttl || ttl <= tc.ttl-tc.slop) {
			t.Errorf("%s: TTL %v, want %v", key, ttl, tc.ttl)
		}
	}
}
