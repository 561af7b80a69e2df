package redistest

import (
	"flag"
	"runtime"
	"strconv"
)

// RaiseParallel lets up to n tests marked t.Parallel run at once, unless
// go test was given -parallel. Call it from TestMain, before m.Run.
//
// The integration tests mostly wait on servers (a sentinel's INFO round,
// a cluster's node timeout, run.redis_wait), not on the CPU, and
// -parallel's default, GOMAXPROCS, would queue them two by two on a
// 2-core machine.
func RaiseParallel(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given && n > runtime.GOMAXPROCS(0) {
		flag.Set("test.parallel", strconv.Itoa(n))
	}
}
