// Package config reads a cachewarm TOML file into a validated Config.
//
// Every problem is found before any work starts and reported as
// "file:line: key.path: message" (a *ConfigError). Values expanded from
// ${VAR} into the Redis URL, fetch URLs and headers, and the Redis
// password, are registered with the config's Redactor, so that no output
// ever shows them. Key and URL templates are Go text/template with a fast
// path for the common shapes.
package config
