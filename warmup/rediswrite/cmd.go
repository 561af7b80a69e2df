package rediswrite

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cmd is the command an Op sends.
type Cmd uint8

// The commands an Op may send.
const (
	// CmdSet overwrites: SET key value PX ttl.
	CmdSet Cmd = iota
	// CmdSetNX writes only a key that is not there: SET key value NX PX
	// ttl. A nil reply (the key was there) sets Op.Warm.
	CmdSetNX
	// CmdExists asks whether the key is there: EXISTS key, into Op.Got.
	CmdExists
	// CmdPTTL asks how long the key has left: PTTL key, into Op.Got.
	CmdPTTL
	// CmdHash replaces the key with a hash of Op.Fields and its TTL, in
	// one step: no reader sees the old fields, the new ones without their
	// TTL, or part of them.
	CmdHash
	// CmdHashNX is CmdHash for a key that is not there; a key that is
	// there is left alone and sets Op.Warm.
	CmdHashNX
	// CmdVerify reads, for each of Keys, whether it exists with type
	// Value and its TTL, into Codes (see CheckMissing and the others):
	// one script for all of them, so that checking a key costs a fraction
	// of writing it. Keys must share a slot on a cluster.
	CmdVerify
)

// The codes a CmdVerify leaves in Codes for a key, when not its TTL in
// milliseconds: the key is absent, has no TTL, or holds another type.
const (
	CheckMissing   int64 = -2
	CheckNoTTL     int64 = -1
	CheckWrongType int64 = -3
)

// String is the command as Redis names it, for reasons: "SET", "EXISTS".
func (c Cmd) String() string {
	switch c {
	case CmdExists:
		return "EXISTS"
	case CmdPTTL:
		return "PTTL"
	case CmdHash, CmdHashNX:
		return "HSET"
	case CmdVerify:
		return "verify"
	default:
		return "SET"
	}
}

// IsCheck says whether the command is the check of an item's key
// before it is fetched (EXISTS, PTTL).
func (c Cmd) IsCheck() bool { return c == CmdExists || c == CmdPTTL }

// writes says whether the command may change its key: replicas must
// confirm it.
func (c Cmd) writes() bool { return !c.IsCheck() && c != CmdVerify }

// onlyIfAbsent says whether the command leaves a key that is there alone.
func (c Cmd) onlyIfAbsent() bool { return c == CmdSetNX || c == CmdHashNX }

// writeHash is the hash commands' script. A script is atomic and names
// its one key, so a cluster pipeline routes it like any other write (a
// keyless MULTI in a cluster pipeline would not be). HSET takes the
// fields in chunks: Lua's unpack has a limit of a few thousand values.
// ARGV[1] is the TTL in milliseconds, "0" for none; ARGV[2] is "nx" to
// leave a key that is there alone (a nil reply). A hash without fields
// is no key at all: an error, never an OK for a key that is not there.
const writeHash = `if #ARGV < 4 then return redis.error_reply('ERR a hash needs at least one field') end
if ARGV[2] == 'nx' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return false end
else
  redis.call('DEL', KEYS[1])
end
for i = 3, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return redis.status_reply('OK')`

// queue adds op's command to pipe and returns it, for read.
//
// The hash commands go as EVAL, not EVALSHA: a restarted Redis has
// forgotten every script, and NOSCRIPT in the middle of a pipeline would
// cost its items an attempt; Redis caches the script's compiled form
// anyway.
func (op *Op) queue(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	switch op.Cmd {
	case CmdExists:
		return pipe.Exists(ctx, op.Key)
	case CmdPTTL:
		// PTTL's own command type turns the reply into a Duration whose
		// -1 and -2 mean nanoseconds: the integer says what Redis said.
		cmd := redis.NewIntCmd(ctx, "pttl", op.Key)
		_ = pipe.Process(ctx, cmd)
		return cmd
	case CmdVerify:
		return verifyScript.Eval(ctx, pipe, op.Keys, string(op.Value), typeProbes[string(op.Value)])
	case CmdHash, CmdHashNX:
		nx := ""
		if op.Cmd == CmdHashNX {
			nx = "nx"
		}
		args := make([]any, 0, 6+len(op.Fields))
		args = append(args, "eval", writeHash, 1, op.Key, strconv.FormatInt(op.TTL.Milliseconds(), 10), nx)
		for _, f := range op.Fields {
			args = append(args, f)
		}
		cmd := redis.NewCmd(ctx, args...)
		_ = pipe.Process(ctx, cmd)
		return cmd
	default:
		return op.queueSet(ctx, pipe)
	}
}

// queueSet queues SET key value [NX] [EX s | PX ms | KEEPTTL] from
// arguments the Op holds: go-redis's Set would allocate an argument list
// and a box for each argument, for every item of a bulk load, and the
// garbage collector would spend a share of the run on them.
func (op *Op) queueSet(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	args := append(op.args[:0], "set", &op.Key, (*valueArg)(op))
	if op.Cmd == CmdSetNX {
		args = append(args, "nx")
	}
	switch {
	case op.TTL == redis.KeepTTL:
		args = append(args, "keepttl")
	case op.TTL <= 0:
	case op.TTL%time.Second == 0:
		op.ttlArg = int64(op.TTL / time.Second)
		args = append(args, "ex", &op.ttlArg)
	default:
		op.ttlArg = max(1, op.TTL.Milliseconds())
		args = append(args, "px", &op.ttlArg)
	}
	cmd := redis.NewStatusCmd(ctx, args...)
	_ = pipe.Process(ctx, cmd)
	return cmd
}

// valueArg is an Op seen as its Value, which go-redis writes through
// MarshalBinary: a pointer goes into an argument without an allocation,
// a []byte does not.
type valueArg Op

// MarshalBinary is the Op's Value, as it is.
func (v *valueArg) MarshalBinary() ([]byte, error) { return v.Value, nil }

// read takes op's outcome from the reply to its own command: nil only
// when that reply says the command did what it was for. failed is the
// pipeline's error when it failed as a whole (see wholeFailure).
func (op *Op) read(cmd redis.Cmder, failed error) error {
	if op.Cmd == CmdVerify {
		return op.readCodes(cmd, failed)
	}
	if c, ok := cmd.(*redis.IntCmd); ok {
		return readInt(c, failed, &op.Got)
	}
	return op.readStatus(cmd, failed)
}

// readCodes reads a CmdVerify's reply, a code per key, into Codes.
func (op *Op) readCodes(cmd redis.Cmder, failed error) error {
	c, ok := cmd.(*redis.Cmd)
	if !ok {
		return errNoReply
	}
	got, err := c.Int64Slice()
	if err != nil {
		if err := cmd.Err(); err != nil {
			return err
		}
		if failed != nil {
			return failed
		}
		return errNoReply
	}
	if len(got) != len(op.Keys) {
		return fmt.Errorf("verify: %d replies for %d keys", len(got), len(op.Keys))
	}
	op.Codes = got
	return nil
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

// size is what op adds to a pipeline's bytes.
func (op *Op) size() int {
	n := len(op.Value)
	for _, f := range op.Fields {
		n += len(f)
	}
	return n
}

// wrote says whether op's command changed the key, so that replicas
// must confirm it.
func (op *Op) wrote() bool { return op.Cmd.writes() && !op.Warm }

// readStatus reads a write's reply. A pipeline that failed as a whole
// can leave commands with no error and no reply (go-redis does when
// re-authentication fails): they get the pipeline's error. A cluster
// pipeline whose context ends while it waits to retry one node's
// commands sets that error on every command, those another node already
// answered OK included: the reply is what counts. NX's nil reply is an
// answer: the key was there.
func (op *Op) readStatus(cmd redis.Cmder, failed error) error {
	if replied(cmd) == "OK" {
		return nil
	}
	err := cmd.Err()
	if op.Cmd.onlyIfAbsent() && errors.Is(err, redis.Nil) {
		op.Warm = true
		return nil
	}
	if err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	return errNoReply
}

// replied is the status reply a command got, "" when it got another.
func replied(cmd redis.Cmder) string {
	switch c := cmd.(type) {
	case *redis.StatusCmd:
		return c.Val()
	case *redis.Cmd:
		s, _ := c.Val().(string)
		return s
	}
	return ""
}

// readInt reads a check's integer reply into got. An integer cannot tell
// "no reply" from 0 the way SET's OK can, so a pipeline that failed as a
// whole fails the check too: a check that fails costs a retry, one that
// read 0 for "no reply" would write over a key it should leave alone.
func readInt(cmd *redis.IntCmd, failed error, got *int64) error {
	if err := cmd.Err(); err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	*got = cmd.Val()
	return nil
}

// verifyScript answers a CmdVerify in one round of the server's loop: the
// PTTL of every key and whether it holds type ARGV[1], coded as one
// integer each. The type is probed with the cheapest command that fails
// on any other type (ARGV[2]: STRLEN for a string), since TYPE's status
// reply costs Lua a table per key; TYPE is the fallback. Its body never
// changes, so Redis compiles it once and keeps it cached.
var verifyScript = redis.NewScript(`
local call, pcall = redis.call, redis.pcall
local want, probe = ARGV[1], ARGV[2]
local keys, out = KEYS, {}
for i = 1, #keys do
  local k = keys[i]
  local ttl = call('PTTL', k)
  if ttl ~= -2 then
    if probe ~= '' then
      if type(pcall(probe, k)) == 'table' then ttl = -3 end
    elseif call('TYPE', k).ok ~= want then
      ttl = -3
    end
  end
  out[i] = ttl
end
return out
`)

// typeProbes are, per type, a command that answers an integer for a key
// of that type and fails on any other.
var typeProbes = map[string]string{"string": "STRLEN", "hash": "HLEN", "list": "LLEN", "set": "SCARD", "zset": "ZCARD", "stream": "XLEN"}
