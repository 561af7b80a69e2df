// Package source streams a loader's items: a list, an integer range, a
// .jsonl, .txt or .csv file read line by line, never whole (a plain file,
// a gzip-compressed one, or a stream: standard input, a FIFO), or a
// sitemap, one item per <url>, its index followed, each document read
// token by token from a temporary copy.
//
// Every source can say where it stands: Resume returns the position of the
// next item not yet read (the next range value, list index, or file byte
// offset and line), so a run that stops early records exactly which items
// it never started, and Open with that Resume reads on from there (a
// sitemap's is the count of items it yielded). A
// stream cannot be read again: its Resume only says how far it got.
package source
