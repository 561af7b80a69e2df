// Package source streams a loader's items: a list, an integer range, or a
// .jsonl, .txt or .csv file read line by line, never whole: a plain file,
// a gzip-compressed one, or a stream (standard input, a FIFO).
//
// Every source can say where it stands: Resume returns the position of the
// next item not yet read (the next range value, list index, or file byte
// offset and line), so a run that stops early records exactly which items
// it never started, and Open with that Resume reads on from there. A
// stream cannot be read again: its Resume only says how far it got.
package source
