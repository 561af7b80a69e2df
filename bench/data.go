//go:build linux

// The items, RESP streams and configs the targets feed cachewarm and the
// baselines.

package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// appendLine appends item id's JSONL line (without newline), padded to
// lineLen bytes.
func appendLine(b []byte, id int) []byte {
	start := len(b)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"name":"item-`...)
	b = strconv.AppendInt(b, int64(id), 10)
	cents := 100 + (id*37)%99900
	b = append(b, `","price":`...)
	b = strconv.AppendInt(b, int64(cents/100), 10)
	b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	b = append(b, `,"tags":["a","b"],"pad":"`...)
	for len(b)-start < lineLen-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// key is item id's Redis key.
func key(id int) string { return "item:" + strconv.Itoa(id) }

// writeData writes the n-item JSONL file and the equivalent RESP file
// (SET item:N <line> EX 3600) into dir, streaming both.
func writeData(dir string, n int) (jsonlPath, respPath string, err error) {
	jsonlPath = filepath.Join(dir, fmt.Sprintf("data-%d.jsonl", n))
	respPath = filepath.Join(dir, fmt.Sprintf("data-%d.resp", n))
	jf, err := os.Create(jsonlPath)
	if err != nil {
		return "", "", err
	}
	defer jf.Close()
	rf, err := os.Create(respPath)
	if err != nil {
		return "", "", err
	}
	defer rf.Close()
	jw := bufio.NewWriterSize(jf, 1<<20)
	rw := bufio.NewWriterSize(rf, 1<<20)
	ttl := strconv.Itoa(ttlSeconds)
	var line, cmd []byte
	for id := 1; id <= n; id++ {
		line = appendLine(line[:0], id)
		cmd = appendSet(cmd[:0], key(id), line, ttl)
		jw.Write(line)
		jw.WriteByte('\n')
		rw.Write(cmd)
	}
	if err := jw.Flush(); err != nil {
		return "", "", err
	}
	if err := rw.Flush(); err != nil {
		return "", "", err
	}
	if err := jf.Close(); err != nil {
		return "", "", err
	}
	return jsonlPath, respPath, rf.Close()
}

// appendSet appends the RESP of SET k line EX ttl.
func appendSet(cmd []byte, k string, line []byte, ttl string) []byte {
	cmd = append(cmd, "*5\r\n$3\r\nSET\r\n$"...)
	cmd = strconv.AppendInt(cmd, int64(len(k)), 10)
	cmd = append(cmd, "\r\n"...)
	cmd = append(cmd, k...)
	cmd = append(cmd, "\r\n$"...)
	cmd = strconv.AppendInt(cmd, int64(len(line)), 10)
	cmd = append(cmd, "\r\n"...)
	cmd = append(cmd, line...)
	cmd = append(cmd, "\r\n$2\r\nEX\r\n$"...)
	cmd = strconv.AppendInt(cmd, int64(len(ttl)), 10)
	cmd = append(cmd, "\r\n"...)
	cmd = append(cmd, ttl...)
	return append(cmd, "\r\n"...)
}

// loaderConfig is the one [[loader]] of a generated config.
type loaderConfig struct {
	name  string
	items string // a TOML inline table
	key   string
	fetch string // a fetch URL template, or ""
}

// writeConfig writes a cachewarm config with the given loaders. With
// concurrency 0 the config has no [run] table at all, so every run-wide
// setting is cachewarm's default; otherwise [run] holds only concurrency.
// The TTL ("1h", as the baseline's EX 3600) is part of the workload and
// is set on each loader.
func writeConfig(path, redisURL string, concurrency int, loaders ...loaderConfig) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# written by go run ./bench\n[redis]\nurl = %q\n", redisURL)
	if concurrency > 0 {
		fmt.Fprintf(&b, "\n[run]\nconcurrency = %d\n", concurrency)
	}
	for _, l := range loaders {
		fmt.Fprintf(&b, "\n[[loader]]\nname = %q\nitems = %s\nkey = %q\nttl = \"1h\"\n", l.name, l.items, l.key)
		if l.fetch != "" {
			fmt.Fprintf(&b, "fetch = { url = %q }\n", l.fetch)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// sampleIDs returns sampleSize ids drawn from 1..n (all of them when n is
// smaller), reproducibly for a given seed.
func sampleIDs(n int, seed uint64) []int {
	if n <= sampleSize {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i + 1
		}
		return ids
	}
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	ids := make([]int, sampleSize)
	for i := range ids {
		ids[i] = 1 + r.IntN(n)
	}
	return ids
}

// lineOf is the JSONL line of item id.
func lineOf(id int) []byte { return appendLine(nil, id) }
