package demo

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartRedis(t *testing.T) {
	r, err := StartRedis()
	if err != nil {
		t.Fatalf("StartRedis: %v", err)
	}
	defer r.Close()

	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", r.URL(), err)
	}
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil || host != "127.0.0.1" || port != strconv.Itoa(r.Port()) || opts.DB != 0 {
		t.Errorf("URL %q parses to addr %q db %d; Port() = %d", r.URL(), opts.Addr, opts.DB, r.Port())
	}

	client := redis.NewClient(opts)
	defer client.Close()
	ctx := t.Context()
	tests := []struct {
		key, value string
		ttl        time.Duration
	}{
		{"product:17", `{"id":"17","price":12.34}`, time.Hour},
		{"page:/", "<html></html>", 0},
		{"empty", "", time.Minute},
	}
	for _, tt := range tests {
		if err := client.Set(ctx, tt.key, tt.value, tt.ttl).Err(); err != nil {
			t.Fatalf("SET %s: %v", tt.key, err)
		}
		got, err := client.Get(ctx, tt.key).Result()
		if err != nil || got != tt.value {
			t.Errorf("GET %s = %q, %v; want %q", tt.key, got, err, tt.value)
		}
		ttl, err := client.TTL(ctx, tt.key).Result()
		want := tt.ttl
		if want == 0 {
			want = -1 // no expiry
		}
		if err != nil || ttl != want {
			t.Errorf("TTL %s = %v, %v; want %v (the clock does not tick)", tt.key, ttl, err, want)
		}
	}
	if got := r.Server().Keys(); len(got) != len(tests) {
		t.Errorf("keys = %v, want %d", got, len(tests))
	}

	r.Close()
	r.Close() // harmless
	if conn, err := net.Dial("tcp", opts.Addr); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Close", opts.Addr)
	}
}

func TestStartRedisTwice(t *testing.T) {
	a, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Port() == b.Port() || a.URL() == b.URL() {
		t.Errorf("two embedded servers share port %d", a.Port())
	}
}
