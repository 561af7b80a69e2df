package rediswrite

import (
	"context"
	"errors"

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
)

// String is the command as Redis names it, for reasons: "SET", "EXISTS".
func (c Cmd) String() string {
	switch c {
	case CmdExists:
		return "EXISTS"
	case CmdPTTL:
		return "PTTL"
	default:
		return "SET"
	}
}

// IsCheck says whether the command only reads.
func (c Cmd) IsCheck() bool { return c == CmdExists || c == CmdPTTL }

// queue adds op's command to pipe.
func (op *Op) queue(ctx context.Context, pipe redis.Pipeliner) redis.Cmder {
	switch op.Cmd {
	case CmdSetNX:
		return pipe.SetArgs(ctx, op.Key, op.Value, redis.SetArgs{Mode: "NX", TTL: op.TTL})
	case CmdExists:
		return pipe.Exists(ctx, op.Key)
	case CmdPTTL:
		// PTTL's own command type turns the reply into a Duration whose
		// -1 and -2 mean nanoseconds: the integer says what Redis said.
		cmd := redis.NewIntCmd(ctx, "pttl", op.Key)
		_ = pipe.Process(ctx, cmd)
		return cmd
	default:
		return pipe.Set(ctx, op.Key, op.Value, op.TTL)
	}
}

// read takes op's outcome from the reply to its own command: nil only
// when that reply says the command did what it was for. failed is the
// pipeline's error when it failed as a whole (see wholeFailure).
func (op *Op) read(cmd redis.Cmder, failed error) error {
	switch c := cmd.(type) {
	case *redis.StatusCmd:
		return op.readStatus(c, failed)
	case *redis.IntCmd:
		return readInt(c, failed, &op.Got)
	}
	return errNoReply
}

// wrote says whether op's command changed the key, so that replicas
// must confirm it.
func (op *Op) wrote() bool { return !op.Cmd.IsCheck() && !op.Warm }

// readStatus reads a SET's reply. A pipeline that failed as a whole can
// leave commands with no error and no reply (go-redis does when
// re-authentication fails): they get the pipeline's error. A cluster
// pipeline whose context ends while it waits to retry one node's
// commands sets that error on every command, those another node already
// answered OK included: the reply is what counts. NX's nil reply is an
// answer: the key was there.
func (op *Op) readStatus(cmd *redis.StatusCmd, failed error) error {
	if cmd.Val() == "OK" {
		return nil
	}
	err := cmd.Err()
	if op.Cmd == CmdSetNX && errors.Is(err, redis.Nil) {
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
