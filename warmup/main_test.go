package warmup_test

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	// go-redis logs refused dials itself; the tests read reasons instead.
	redis.SetLogger(quiet{})
	redistest.RaiseParallel(6)
	os.Exit(m.Run())
}
