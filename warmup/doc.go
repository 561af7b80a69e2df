// Package warmup is cachewarm's engine: it runs loaders into Redis and
// keeps every item's outcome, the way Promise.allSettled does.
//
// The contract, for every loader at every moment:
//
//	read = fulfilled + rejected + in flight
//
// and once a run has stopped, every item its source holds is fulfilled,
// rejected (with a stage, a reason and its attempts) or not started,
// where not started is known from the source's resume point without a
// record per item.
//
//   - Fulfilled means the reply to that item's own SET was OK, or, for a
//     loader whose mode leaves warm keys alone, the reply to its own
//     check (EXISTS, PTTL) or SET NX said the key was warm: fulfilled
//     (already warm), counted apart. A pipeline that fails as a whole
//     fails every command in it.
//   - Every item takes one path: source → key (and URL) → optional check
//     (mode.go) → optional fetch →
//     the one pipelined writer (package rediswrite) → outcome, with one
//     retry loop (Engine.failed) for first passes, retries (Retry) and
//     --retry-from (StartFrom).
//   - When Redis stops answering, the run stops taking items and waits
//     (the gate), probing with backoff; items caught in the outage are
//     written again when it answers, without spending their attempts.
//     After run.redis_wait it stops the way an interrupt does.
//   - Items read but not settled are bounded by one budget for the whole
//     run, whatever the number of loaders or the size of the input.
//
// Config, sources, fetch and the Redis writer live in the packages
// config, source, fetch and rediswrite under this one.
package warmup
