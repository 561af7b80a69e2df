package warmup

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// DryRun prints the keys, URLs and values the first n items of each loader
// would give. It writes nothing and fetches nothing.
func DryRun(cfg *config.Config, w io.Writer, n int) error {
	var b strings.Builder
	for _, l := range cfg.Loaders {
		fmt.Fprintf(w, "%s (%s, ttl %s%s)\n", l.Name, describeLoader(l), fmtTTL(l.TTL), describeMode(l))
		src, err := source.Open(l.Items, nil)
		if err != nil {
			return fmt.Errorf("loader %s: %w", l.Name, err)
		}
		shown := 0
		for shown < n {
			it, ok := src.Next()
			if !ok {
				break
			}
			shown++
			fmt.Fprint(w, "  ")
			if where := it.Where(); where != "" {
				fmt.Fprint(w, where+" ")
			}
			if it.Err != nil {
				fmt.Fprintf(w, "rejected: %s\n", cfg.Secrets().Redact(it.Err.Error()))
				continue
			}
			v, err := it.Value()
			if err != nil {
				fmt.Fprintf(w, "rejected: %s\n", err)
				continue
			}
			key, err := l.Key.Execute(v, &b)
			if err != nil {
				fmt.Fprintf(w, "rejected: key template: %s\n", err)
				continue
			}
			fmt.Fprintf(w, "SET %s", key)
			if l.Fetch != nil {
				u, err := l.Fetch.URL.Execute(v, &b)
				if err != nil {
					fmt.Fprintf(w, " rejected: url template: %s\n", err)
					continue
				}
				fmt.Fprintf(w, " ← GET %s\n", cfg.Secrets().Redact(u))
				continue
			}
			val := string(it.StringValue())
			if len(val) > 120 {
				val = val[:117] + "..."
			}
			fmt.Fprintf(w, " = %s\n", cfg.Secrets().Redact(val))
		}
		if src.Err() != nil {
			fmt.Fprintf(w, "  source error: %s\n", src.Err())
		}
		src.Close()
		if shown == 0 {
			fmt.Fprintln(w, "  (no items)")
		}
	}
	return nil
}

func fmtTTL(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}

// describeMode names a loader's mode when it is not the default:
// ", mode missing", ", mode expiring below 10m".
func describeMode(l *config.Loader) string {
	switch l.Mode {
	case config.ModeMissing:
		return ", mode missing"
	case config.ModeExpiring:
		return ", mode expiring below " + fmtTTL(l.ExpireBelow)
	}
	return ""
}
