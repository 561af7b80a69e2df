package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkConfigExists turns a config file that is not there into an error a
// newcomer can act on: where cachewarm looked, and the ways to a config.
// Other errors are the config loader's to report.
func checkConfigExists(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	where := path
	if abs, err := filepath.Abs(path); err == nil {
		where = abs
	}
	if path == defaultConfigPath {
		return fmt.Errorf("no config: looked for %s (the default; --config PATH names another)\n"+
			"  cachewarm init    writes a starter config there (cachewarm init --help)\n"+
			"  go run .          in a clone of github.com/cachewarm/cachewarm runs the demo, no Redis needed", where)
	}
	return fmt.Errorf("--config %s: no such file (looked for %s): check the path, or write a starter config there with: cachewarm init %s",
		path, where, shellWord(path))
}
