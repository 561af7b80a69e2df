package rediswrite

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The codes a CmdCheck leaves in Got for a key, when not its TTL in
// milliseconds: the key is absent, has no TTL, or holds another type.
const (
	CheckMissing   int64 = -2
	CheckNoTTL     int64 = -1
	CheckWrongType int64 = -3
)

// checkScript answers a CmdCheck in one round of the server's loop: the
// PTTL of every key and whether it holds type ARGV[1], coded as one
// integer each. The type is probed with the cheapest command that fails
// on any other type (ARGV[2]: STRLEN for a string), since TYPE's status
// reply costs Lua a table per key; TYPE is the fallback. Its body never
// changes, so Redis compiles it once and keeps it cached.
var checkScript = redis.NewScript(`
local out = {}
local want, probe = ARGV[1], ARGV[2]
for i, k in ipairs(KEYS) do
  local ttl = redis.call('PTTL', k)
  if ttl == -2 then
    out[i] = -2
  elseif probe ~= '' then
    if type(redis.pcall(probe, k)) == 'table' then out[i] = -3 else out[i] = ttl end
  elseif redis.call('TYPE', k).ok ~= want then
    out[i] = -3
  else
    out[i] = ttl
  end
end
return out
`)

// typeProbes are, per type, a command that answers an integer for a key
// of that type and fails on any other.
var typeProbes = map[string]string{"string": "STRLEN", "hash": "HLEN", "list": "LLEN", "set": "SCARD", "zset": "ZCARD", "stream": "XLEN"}

// queue adds op's command to pipe.
func (op *Op) queue(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	switch op.Cmd {
	case CmdCheck:
		keys := op.Keys
		if len(keys) == 0 {
			keys = []string{op.Key}
		}
		return checkScript.Eval(ctx, pipe, keys, string(op.Value), typeProbes[string(op.Value)])
	default:
		return pipe.Set(ctx, op.Key, op.Value, op.TTL)
	}
}

// settle reads the reply to op's own command: nil when it is what op
// asked for (OK to a SET; a code per key to a check, left in Got), else
// why not.
func (op *Op) settle(cmd redis.Cmder, execErr error) error {
	switch c := cmd.(type) {
	case *redis.StatusCmd:
		return replyErr(c, execErr)
	case *redis.Cmd:
		got, err := c.Int64Slice()
		if err != nil {
			return cmdErr(cmd, execErr)
		}
		if want := op.keys(); len(got) != want {
			return fmt.Errorf("check: %d replies for %d keys", len(got), want)
		}
		op.Got = got
		return nil
	}
	return cmdErr(cmd, execErr)
}

// keys counts the keys op's command touches, for the pipeline's bound.
func (op *Op) keys() int { return max(1, len(op.Keys)) }

// slotKey is the key whose slot an error about slots is about.
func (op *Op) slotKey() string {
	if op.Key == "" && len(op.Keys) > 0 {
		return op.Keys[0]
	}
	return op.Key
}
