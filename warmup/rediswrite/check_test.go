package rediswrite

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// --verify reads keys with plain commands: a user who may not run
// scripts can verify, a type without a probe command is read with TYPE,
// and a cluster's keys are checked many to an Op, whatever their slots.
func TestChecksWithoutScripts(t *testing.T) {
	ctx := context.Background()
	t.Run("no scripting rights", func(t *testing.T) {
		srv := redistest.Start(t)
		if err := srv.Client.Do(ctx, "ACL", "SETUSER", "warmer", "on", ">w-pw", "~*", "+@all", "-@scripting").Err(); err != nil {
			t.Fatal(err)
		}
		srv.Client.Set(ctx, "s", "v", time.Hour)
		srv.Client.HSet(ctx, "h", "f", "v")
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "warmer", Password: "w-pw", MaxRetries: -1})
		defer rdb.Close()
		for _, tc := range []struct {
			typ  string
			want []int64 // the first only as "a TTL" when positive
		}{
			{"string", []int64{1, CheckWrongType, CheckMissing}},
			{"hash", []int64{CheckWrongType, CheckNoTTL, CheckMissing}},
			{"no such type", []int64{CheckWrongType, CheckWrongType, CheckMissing}},
		} {
			op := &Op{Cmd: CmdVerify, Keys: []string{"s", "h", "absent"}, Value: []byte(tc.typ)}
			if err := collect(t, rdb, []*Op{op})[""]; err != nil {
				t.Fatalf("%s: %v", tc.typ, err)
			}
			got := slices.Clone(op.Codes)
			if len(got) == 3 && got[0] > 0 && got[0] <= 3600_000 {
				got[0] = 1
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: codes %v, want %v", tc.typ, op.Codes, tc.want)
			}
		}
	})
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t, 3, 0)
		tg, err := Connect(ctx, config.RedisConfig{URL: c.URL()}, 8, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		keys := make([]string, 300)
		for i := range keys {
			keys[i] = "k" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			if i%2 == 0 {
				if err := c.Client.Set(ctx, keys[i], "v", time.Hour).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
		op := &Op{Cmd: CmdVerify, Keys: keys, Value: []byte("string")}
		if err := collect(t, tg, []*Op{op})[""]; err != nil {
			t.Fatal(err)
		}
		for i, code := range op.Codes {
			if (i%2 == 0) != (code > 0) || (i%2 == 1 && code != CheckMissing) {
				t.Fatalf("%s: code %d", keys[i], code)
			}
		}
	})
}
