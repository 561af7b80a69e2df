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
	for _, l := range cfg.Loaders {
		fmt.Fprintf(w, "%s (%s, ttl %s%s%s%s)\n", l.Name, describeLoader(l, cfg.Secrets()), fmtTTL(l.TTL), describeJitter(l), describeMode(l), cfg.Secrets().Redact(describeValue(l)))
		hosts := l.FetchHosts(cfg.Redis.Addresses())
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
				fmt.Fprint(w, cfg.Secrets().Redact(where)+" ")
			}
			// The run's own path from item to key and URL: what it
			// would reject, the dry run shows rejected.
			key, u, ie := target(l, hosts, &it, "")
			if ie != nil {
				fmt.Fprintf(w, "rejected: %s\n", cfg.Secrets().Redact(ie.msg))
				continue
			}
			fmt.Fprintf(w, "%s %s", writeVerb(l), key)
			if l.Fetch != nil {
				fmt.Fprintf(w, " ← GET %s\n", cfg.Secrets().Redact(u))
				continue
			}
			val, err := dryValue(l, &it)
			if err != nil {
				fmt.Fprintf(w, " rejected: %s\n", cfg.Secrets().Redact(err.Error()))
				continue
			}
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

// describeJitter adds a loader's ttl_jitter to its ttl: " ± 6m0s (54m–1h6m)".
func describeJitter(l *config.Loader) string {
	if l.TTLJitter == 0 {
		return ""
	}
	return " ± " + l.TTLJitter.String() + " (" + spreadTTL(l) + ")"
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

// writeVerb is the command a loader's writes read as: SET, or HSET for a
// hash.
func writeVerb(l *config.Loader) string {
	if l.Type == config.TypeHash {
		return "HSET"
	}
	return "SET"
}

// describeValue says what a loader stores when it is not the body or
// the item as a string: ", hash", ", value {{.body.data}}".
func describeValue(l *config.Loader) string {
	var s string
	if l.Type == config.TypeHash {
		s = ", hash"
	}
	if l.Value != nil {
		s += ", value " + l.Value.Text
	}
	return s
}

// dryValue is what a loader that fetches nothing would store for it: the
// item or its value template's output, and for a hash its fields.
func dryValue(l *config.Loader, it *source.Item) (string, error) {
	val := it.StringValue()
	if l.Value != nil {
		var err error
		if val, err = renderValue(l.Value, it, nil, false); err != nil {
			return "", fmt.Errorf("value template: %w", err)
		}
	}
	if l.Type != config.TypeHash {
		return string(val), nil
	}
	fields, err := hashFields(val)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	var b strings.Builder
	for i := 0; i < len(fields); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", fields[i], fields[i+1])
	}
	return b.String(), nil
}
