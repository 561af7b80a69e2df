// Package source streams a loader's items: a list, an integer range, a
// .jsonl, .txt or .csv file read line by line, never whole (a plain file,
// a gzip-compressed one, or a stream: standard input, a FIFO), a
// sitemap, one item per <url>, its index followed (children only on the
// sitemap's own host or those its spec names), each document read token
// by token from a temporary copy in memory bounded whatever its size, or
// the rows of a SQL query
// (PostgreSQL through pgx, SQLite through a pure-Go driver), streamed
// from a read-only transaction.
//
// Every source can say where it stands: Resume returns the position of the
// next item not yet read (the next range value, list index, file byte
// offset and line, count of sitemap items yielded, or count of rows
// read), so a run that stops early records exactly which items it never
// started, and Open with that Resume reads on from there: a query runs
// again with an OFFSET. A stream cannot be read again: its Resume only
// says how far it got.
//
// Each kind of source lives in a file of its own (list.go, range.go,
// file.go for files and standard input, sitemap.go, sql.go): its items
// table's keys and their validation (its Kind, registered in Kinds, which
// the config asks), its pre-flight check, how it opens and resumes, and
// what it shows of itself, credentials hidden (its Spec). Adding a kind
// touches this package only.
package source
