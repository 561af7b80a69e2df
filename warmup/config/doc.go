// Package config reads a cachewarm TOML file into a validated Config.
//
// Every problem is found before any work starts and reported as
// "file:line: key.path: message" (a *ConfigError). Values expanded from
// ${VAR} into the Redis URL, fetch URLs and headers, and the Redis
// password, are registered with the config's Redactor, so that no output
// ever shows them. Key and URL templates are Go text/template with a fast
// path for the common shapes.
//
// The engine's keys are all this package knows: a loader's items table
// belongs to the source kinds (source.Kinds), each of which decodes and
// checks its own keys through a source.Decoder this package gives it. A caller with needs of
// its own (the offline demo's [origin] table and {{origin}} function)
// extends the file through Options: the tables it registers are decoded
// by its own code, strictly and with the same file:line errors, and the
// template functions it adds are called when items render. Any table
// nobody registered is still an unknown key.
package config
