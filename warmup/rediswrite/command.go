package rediswrite

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Cmd is the kind of write an Op makes.
type Cmd uint8

// The kinds of write.
const (
	// CmdSet is SET key value PX ttl: the key holds the value.
	CmdSet Cmd = iota
	// CmdHash replaces the key with a hash of Op.Fields and its TTL, in
	// one step: no reader sees the old fields, the new ones without their
	// TTL, or part of them.
	CmdHash
)

// writeHash is CmdHash's script. A script is atomic and names its one
// key, so a cluster pipeline routes it like any other write (a keyless
// MULTI in a cluster pipeline would not be). HSET takes the fields in
// chunks: Lua's unpack has a limit of a few thousand values. ARGV[1] is
// the TTL in milliseconds, "0" for none. A hash without fields is no key
// at all: an error, never an OK for a key that is not there.
const writeHash = `if #ARGV < 3 then return redis.error_reply('ERR a hash needs at least one field') end
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return redis.status_reply('OK')`

// queue adds op's command to pipe and returns it, for result to read.
//
// CmdHash goes as EVAL, not EVALSHA: a restarted Redis has forgotten
// every script, and NOSCRIPT in the middle of a pipeline would cost its
// items an attempt; Redis caches the script's compiled form anyway.
func (op *Op) queue(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	switch op.Cmd {
	case CmdHash:
		args := make([]any, 0, 5+len(op.Fields))
		args = append(args, "eval", writeHash, 1, op.Key, strconv.FormatInt(op.TTL.Milliseconds(), 10))
		for _, f := range op.Fields {
			args = append(args, f)
		}
		cmd := redis.NewCmd(ctx, args...)
		_ = pipe.Process(ctx, cmd)
		return cmd
	default:
		return pipe.Set(ctx, op.Key, op.Value, op.TTL)
	}
}

// result is nil when cmd, op's command, was OK, else why not; execErr is
// the pipeline's error.
func (op *Op) result(cmd redis.Cmder, execErr error) error {
	return replyErr(cmd, execErr)
}

// size is what op adds to a pipeline's bytes.
func (op *Op) size() int {
	n := len(op.Value)
	for _, f := range op.Fields {
		n += len(f)
	}
	return n
}
