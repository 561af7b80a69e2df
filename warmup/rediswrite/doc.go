// Package rediswrite connects to Redis and writes items through one
// pipelined writer.
//
// Connect returns a Target: one server, a Redis Cluster (detected from the
// server, or asked for; its pipelines are split per master by go-redis,
// which follows MOVED and ASK), or the master Redis Sentinel names. A
// Target's Probe says when writes can go through again after an outage.
//
// Every write, fetched or not, goes through a Writer: a queue drained by a
// few goroutines, each of which sends up to Options.Batch commands (or
// Options.MaxBytes of values) in one pipeline and maps every reply back to
// its Op. An Op is written only when the reply to its own command is OK;
// when a pipeline fails as a whole (connection, authentication, timeout)
// every Op in it gets that error, never success. Classify sorts any error
// into what it calls for: retry the item, reject it, or wait for Redis.
package rediswrite
