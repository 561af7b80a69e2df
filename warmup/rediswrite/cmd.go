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
	// two plain commands per key in the pipeline, PTTL and a probe of its
	// type, so that checking a key costs a fraction of writing it.
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

// writeHashSrc is the script a hash command runs where a transaction of
// its own cannot (see queueHash): mode "missing", which writes only when
// the key is absent, and a cluster. A script is atomic and names its one
// key, so a cluster pipeline routes it like any other write (a keyless
// MULTI in a cluster pipeline would not be). HSET takes the fields in
// chunks: Lua's unpack has a limit of a few thousand values. ARGV[1] is
// the TTL in milliseconds, "0" for none; ARGV[2] is "nx" to leave a key
// that is there alone (a nil reply). A hash without fields is no key at
// all: an error, never an OK for a key that is not there. Redis does not
// undo what a script wrote before a command of it failed, so the script
// first asks the ACL (Redis 7's redis.acl_check_cmd) whether this user
// may run each command it will: a refusal then writes nothing, as a
// refused MULTI's does. (Under maxmemory Redis refuses a script's first
// write only, which is the DEL or the HSET of an absent key.)
const writeHashSrc = `if #ARGV < 4 then return redis.error_reply('ERR a hash needs at least one field') end
if redis.acl_check_cmd then
  local calls = {{'HSET', KEYS[1], ARGV[3], ARGV[4]}}
  if ARGV[2] == 'nx' then calls[#calls + 1] = {'EXISTS', KEYS[1]} else calls[#calls + 1] = {'DEL', KEYS[1]} end
  if ARGV[1] ~= '0' then calls[#calls + 1] = {'PEXPIRE', KEYS[1], ARGV[1]} end
  for _, c in ipairs(calls) do
    if not redis.acl_check_cmd(unpack(c)) then
      return redis.error_reply('NOPERM this user may not run ' .. c[1] .. ' on ' .. KEYS[1] .. ': nothing written')
    end
  end
end
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

// writeHash is writeHashSrc, for its SHA1.
var writeHash = redis.NewScript(writeHashSrc)

// queue adds op's command to pipe and returns the command whose reply
// read takes. tx, when not nil, says that a hash replace may go as a
// transaction of its own (the pipeline goes to one server), and gives the
// commands for it.
func (op *Op) queue(ctx context.Context, pipe redis.Pipeliner, tx func() *txCmds) redis.Cmder {
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
		return op.queueChecks(ctx, pipe)
	case CmdHash, CmdHashNX:
		if tx != nil && op.Cmd == CmdHash && len(op.Fields) > 0 {
			return op.queueHash(ctx, pipe, tx())
		}
		return op.queueHashScript(ctx, pipe)
	default:
		return op.queueSet(ctx, pipe)
	}
}

// hashTTL is a hash's TTL argument in milliseconds, 0 for none.
func (op *Op) hashTTL() int64 { return max(0, op.TTL.Milliseconds()) }

// queueHash queues a hash replace as a transaction of its own: MULTI,
// DEL, HSET with every field, PEXPIRE when there is a TTL, EXEC. No
// reader sees the key between its commands, and a command Redis refuses
// when it is queued (NOPERM, OOM) aborts the whole of it. Redis runs this
// at about twice the speed of the same replace as a script (EVAL or
// EVALSHA), whose every redis.call pays for Lua's side of the call; one
// transaction per key keeps one item's refusal from aborting another's.
func (op *Op) queueHash(ctx context.Context, pipe redis.Pipeliner, t *txCmds) redis.Cmder {
	key := &op.Key
	ms := op.hashTTL()
	// One argument list for DEL, HSET and PEXPIRE, cut in three.
	args := append(t.args[:0], "del", key, "hset", key)
	for i := range op.Fields {
		args = append(args, &op.Fields[i])
	}
	hsetEnd := len(args)
	if ms > 0 {
		op.ttlArg = ms
		args = append(args, "pexpire", key, &op.ttlArg)
	}
	t.args = args
	t.cmds[0] = *redis.NewStatusCmd(ctx, multiArgs...)
	t.cmds[1] = *redis.NewStatusCmd(ctx, args[:2:2]...)
	t.cmds[2] = *redis.NewStatusCmd(ctx, args[2:hsetEnd:hsetEnd]...)
	op.tx = append(op.tx[:0], &t.cmds[0], &t.cmds[1], &t.cmds[2])
	if ms > 0 {
		t.cmds[3] = *redis.NewStatusCmd(ctx, args[hsetEnd:]...)
		op.tx = append(op.tx, &t.cmds[3])
	}
	for _, c := range op.tx {
		_ = pipe.Process(ctx, c)
	}
	t.exec = *redis.NewSliceCmd(ctx, execArgs...)
	_ = pipe.Process(ctx, &t.exec)
	op.txCmds = t
	return &t.exec
}

// txCmds are the commands of a hash replace sent as a transaction and
// their arguments: the writer reuses them from one pipeline to the next,
// since a bulk load of hashes would otherwise allocate five commands per
// key.
type txCmds struct {
	cmds [4]redis.StatusCmd
	exec redis.SliceCmd
	args []any
}

// multiArgs and execArgs are the arguments of every MULTI and EXEC, which
// go-redis only reads.
var multiArgs, execArgs = []any{"multi"}, []any{"exec"}

// queueHashScript queues a hash write as the writeHash script: EVALSHA,
// or EVAL once Redis has said it does not know the script (NOSCRIPT:
// restarted, SCRIPT FLUSH, a failover); the writer sends such an Op
// again at once, without spending one of its attempts.
func (op *Op) queueHashScript(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	nx := ""
	if op.Cmd == CmdHashNX {
		nx = "nx"
	}
	args := make([]any, 0, 6+len(op.Fields))
	if op.evalFull {
		args = append(args, "eval", writeHashSrc)
	} else {
		args = append(args, "evalsha", writeHash.Hash())
	}
	args = append(args, 1, op.Key, strconv.FormatInt(op.hashTTL(), 10), nx)
	for _, f := range op.Fields {
		args = append(args, f)
	}
	cmd := redis.NewCmd(ctx, args...)
	_ = pipe.Process(ctx, cmd)
	return cmd
}

// unknownScript says whether err is Redis saying it does not hold the
// script an EVALSHA named.
func unknownScript(err error) bool { return redis.HasErrorPrefix(err, "NOSCRIPT") }

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
	// The command lives in the Op, as its arguments do: one allocation
	// fewer per item.
	op.set = *redis.NewStatusCmd(ctx, args...)
	_ = pipe.Process(ctx, &op.set)
	return &op.set
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
		return op.readCodes(failed)
	}
	if len(op.tx) > 0 {
		return op.readTx(cmd, failed)
	}
	if c, ok := cmd.(*redis.IntCmd); ok {
		return readInt(c, failed, &op.Got)
	}
	return op.readStatus(cmd, failed)
}

// readTx reads a hash replace sent as a transaction (see queueHash): it
// is written only when MULTI said OK, Redis queued every command, and
// EXEC's reply holds each command's own answer with none an error, HSET
// having added fields and PEXPIRE having found the key. A command refused
// as it was queued is the reason (EXEC then only says EXECABORT).
func (op *Op) readTx(cmd redis.Cmder, failed error) error {
	for i, c := range op.tx {
		want := "QUEUED"
		if i == 0 {
			want = "OK"
		}
		if replied(c) != want {
			return noAnswer(c, failed)
		}
	}
	exec, ok := cmd.(*redis.SliceCmd)
	if !ok {
		return errNoReply
	}
	got, err := exec.Result()
	if err != nil || len(got) != len(op.tx)-1 {
		return noAnswer(exec, failed)
	}
	for _, v := range got {
		if err, ok := v.(error); ok {
			return err
		}
	}
	// DEL's count is whatever was there; HSET must have added the
	// fields, PEXPIRE must have found the key.
	for _, v := range got[1:] {
		if n, _ := v.(int64); n < 1 {
			return fmt.Errorf("%w: %v in %v", errNoReply, v, got)
		}
	}
	return nil
}

// noAnswer is why a command got no answer that says it did its work: its
// own error, the pipeline's, or none at all.
func noAnswer(cmd redis.Cmder, failed error) error {
	if err := cmd.Err(); err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	return errNoReply
}

// queueChecks queues a CmdVerify's commands: for each key, PTTL and the
// cheapest command that answers an integer for a key of the type wanted
// and fails on any other (STRLEN for a string), or TYPE for a type
// without one. Plain commands cost Redis about a fifth less than the same
// calls made from a Lua script, route key by key in a cluster, and their
// command objects and arguments are made in one piece per Op.
func (op *Op) queueChecks(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	probe := typeProbes[string(op.Value)]
	n := len(op.Keys)
	args := make([]any, 4*n)
	ints := make([]redis.IntCmd, 2*n)
	var types []redis.StatusCmd
	if probe == "" {
		types = make([]redis.StatusCmd, n)
	}
	op.checks = op.checks[:0]
	for i := range op.Keys {
		a := args[4*i : 4*i+4 : 4*i+4]
		a[0], a[1], a[2], a[3] = "pttl", &op.Keys[i], probe, &op.Keys[i]
		ints[2*i] = *redis.NewIntCmd(ctx, a[:2:2]...)
		op.checks = append(op.checks, &ints[2*i])
		if probe == "" {
			a[2] = "type"
			types[i] = *redis.NewStatusCmd(ctx, a[2:]...)
			op.checks = append(op.checks, &types[i])
		} else {
			ints[2*i+1] = *redis.NewIntCmd(ctx, a[2:]...)
			op.checks = append(op.checks, &ints[2*i+1])
		}
	}
	for _, c := range op.checks {
		_ = pipe.Process(ctx, c)
	}
	return op.checks[len(op.checks)-1]
}

// readCodes reads a CmdVerify's replies, a code per key, into Codes. An
// integer cannot tell "no reply" from 0, so a pipeline that failed as a
// whole fails the Op, as does any reply but the type probe's WRONGTYPE.
func (op *Op) readCodes(failed error) error {
	if len(op.checks) != 2*len(op.Keys) {
		return errNoReply
	}
	codes := make([]int64, len(op.Keys))
	for i := range op.Keys {
		pttl, ok := op.checks[2*i].(*redis.IntCmd)
		if !ok {
			return errNoReply
		}
		if err := readInt(pttl, failed, &codes[i]); err != nil {
			return err
		}
		if codes[i] == CheckMissing {
			continue
		}
		switch c := op.checks[2*i+1].(type) {
		case *redis.IntCmd:
			if err := c.Err(); redis.HasErrorPrefix(err, "WRONGTYPE") {
				codes[i] = CheckWrongType
			} else if err != nil {
				return err
			}
		case *redis.StatusCmd:
			switch got, err := c.Result(); {
			case err != nil:
				return err
			case got == "none":
				// Gone between its PTTL and its TYPE: it expired.
				codes[i] = CheckMissing
			case got != string(op.Value):
				codes[i] = CheckWrongType
			}
		}
	}
	op.Codes = codes
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

// typeProbes are, per type, a command that answers an integer for a key
// of that type and fails on any other.
var typeProbes = map[string]string{"string": "STRLEN", "hash": "HLEN", "list": "LLEN", "set": "SCARD", "zset": "ZCARD", "stream": "XLEN"}
