package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// FileSpec is items = { file = "…", format = "…" }: a .jsonl, .txt or
// .csv file, each optionally gzip-compressed (.gz), a FIFO, or standard
// input ("-"), read line by line.
type FileSpec struct {
	// File is an absolute path, or Stdin ("-").
	File string
	// Format is FormatJSONL, FormatText or FormatCSV; "" takes it from
	// File's name.
	Format string
	// Stdin is what File "-" reads: nil is os.Stdin.
	Stdin io.Reader
}

type fileKind struct{}

type fileShape struct {
	File   *string `toml:"file"`
	Format *string `toml:"format"`
}

func (fileKind) Key() string { return "file" }
func (fileKind) Shape() any  { return &fileShape{} }

// Decode validates a loader's items file: a file the run can read, a
// FIFO, or "-" for standard input, which one loader at most may read.
// The file's content is read by check, once nothing else is wrong.
func (fileKind) Decode(shape any, d Decoder) Spec {
	raw := shape.(*fileShape)
	if raw.File == nil {
		if raw.Format != nil {
			d.Fail(d.Path("format"), "format goes with file")
		}
		return nil
	}
	spec := FileSpec{File: d.Expand(d.Path("file"), *raw.File, false)}
	if raw.Format != nil {
		switch f := strings.ToLower(*raw.Format); f {
		case FormatJSONL, "ndjson":
			spec.Format = FormatJSONL
		case FormatText, FormatCSV:
			spec.Format = f
		default:
			d.Fail(d.Path("format"), "unsupported format %q (use \"jsonl\", \"csv\" or \"txt\")", *raw.Format)
			return spec
		}
	}
	if spec.File != "" && !spec.ReadsStdin() && namesStdin(d.Resolve(spec.File), d.Stdin()) {
		// Two loaders splitting one stream would each read part of it,
		// and neither could resume.
		spec.File = Stdin
	}
	if spec.ReadsStdin() {
		if spec.Format == "" {
			d.Fail(d.Path("format"), "standard input (file = \"-\") needs a format: \"jsonl\", \"csv\" or \"txt\"")
		}
		spec.Stdin = d.ClaimStdin(d.Path("file"))
		return spec
	}
	spec.File = d.Resolve(spec.File)
	if spec.Format == "" && FormatOf(spec.File) == "" {
		d.Fail(d.Path("file"), "unsupported file type %q (use .jsonl, .txt or .csv, optionally .gz, or set format)", filepath.Ext(spec.File))
	}
	switch st, err := os.Stat(spec.File); {
	case err != nil:
		d.Fail(d.Path("file"), "%s", FileErr(err))
	case st.IsDir():
		d.Fail(d.Path("file"), "%s is a directory", spec.File)
	}
	return spec
}

// namesStdin says whether path is standard input by another name: a
// path such as /dev/stdin, or whatever leads to the very pipe, socket or
// terminal the process reads as its standard input (stdin, or os.Stdin
// when nil). A regular file is never it: opened by name, it reads apart.
func namesStdin(path string, stdin io.Reader) bool {
	switch filepath.Clean(path) {
	case "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "/proc/thread-self/fd/0":
		return true
	}
	if stdin == nil {
		stdin = os.Stdin
	}
	f, ok := stdin.(*os.File)
	if !ok {
		return false
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().IsRegular() {
		return false
	}
	in, err := f.Stat()
	return err == nil && os.SameFile(st, in)
}

// Describe is the file's base name, or "stdin".
func (s FileSpec) Describe() string { return s.name() }

// Files is the file, unless it is standard input.
func (s FileSpec) Files() []string {
	if s.ReadsStdin() || s.File == "" {
		return nil
	}
	return []string{s.File}
}

// ItemFormat is the format the items are read in: Format, else the one
// File's name says, else FormatJSONL.
func (s FileSpec) ItemFormat() string { return s.format() }

// Reached compares byte offsets: a file's resume point is one.
func (s FileSpec) Reached(cur, end Resume) bool {
	switch {
	case end.Done:
		return false
	case cur.Done:
		return true
	}
	return cur.Offset >= end.Offset
}

// check opens a regular file the way a run will and reads what a run
// reads at its start (a gzip header, a CSV header). A stream is not
// opened: it can be read only once, by the run.
func (s FileSpec) check(ctx context.Context) error {
	if k, err := s.kind(); err != nil || k == KindStream {
		return err
	}
	fh, err := os.Open(s.File)
	if err != nil {
		return errors.New(FileErr(err))
	}
	fh.Close()
	src, err := s.open(ctx, nil)
	if err != nil {
		return err
	}
	return src.Close()
}

func (s FileSpec) describeResume(r Resume) string {
	switch r.Kind {
	case KindStream:
		return fmt.Sprintf("from line %d of %s, a stream that cannot be read again", r.Line, s.name())
	case KindGzip:
		return fmt.Sprintf("from line %d (byte %d decompressed)", r.Line, r.Offset)
	}
	return fmt.Sprintf("from line %d (byte %d)", r.Line, r.Offset)
}

func (FileSpec) family() string { return familyFile }

// format is the format of a file spec's items: the explicit one, else the
// name's, else JSONL.
func (s FileSpec) format() string {
	if s.Format != "" {
		return s.Format
	}
	if f := FormatOf(s.File); f != "" {
		return f
	}
	return FormatJSONL
}

// ReadsStdin reports whether the spec's items come from standard input.
func (s FileSpec) ReadsStdin() bool { return s.File == Stdin }

// Rereadable reports whether the spec's items can be read again from
// their start: not a stream (standard input, a FIFO), whose items are
// gone once read.
func (s FileSpec) Rereadable() bool {
	if s.File == "" {
		return true
	}
	kind, err := s.kind()
	return err == nil && kind != KindStream
}

// kind says how a file spec is read: a stream (standard input, or a file
// that is not a regular one: a FIFO, a /dev/fd pipe), gzip (by its name),
// or a plain file.
func (s FileSpec) kind() (string, error) {
	if s.ReadsStdin() {
		return KindStream, nil
	}
	st, err := os.Stat(s.File)
	if err != nil {
		return "", fmt.Errorf("open items: %s", FileErr(err))
	}
	switch {
	case st.IsDir():
		return "", fmt.Errorf("open items: %s is a directory", s.File)
	case !st.Mode().IsRegular():
		return KindStream, nil
	case strings.HasSuffix(strings.ToLower(s.File), ".gz"):
		return KindGzip, nil
	}
	return KindFile, nil
}

// name is how positions name the spec's file: its base name, or "stdin".
func (s FileSpec) name() string {
	if s.ReadsStdin() {
		return "stdin"
	}
	return filepath.Base(s.File)
}

func (spec FileSpec) open(ctx context.Context, from *Resume) (Source, error) {
	kind, err := spec.kind()
	if err != nil {
		return nil, err
	}
	name := spec.name()
	// A resume point at byte 0 of a file is its start, whatever its kind
	// (a source that failed to open records one); a stream's is not.
	if from != nil && (from.Offset > 0 || from.Kind == KindStream) {
		if from.Kind != kind {
			return nil, fmt.Errorf("resume %s: the report read it as %s, it is now %s: the loader's items changed since the report", name, kindName(from.Kind), kindName(kind))
		}
		if kind == KindStream {
			return &unreadStream{at: *from}, nil
		}
	} else {
		from = nil
	}
	in := input{name: name, kind: kind, csv: spec.format() == FormatCSV, text: spec.format() == FormatText}
	switch kind {
	case KindStream:
		sr := openStream(ctx, spec)
		in.r, in.closer = sr, sr
	case KindGzip:
		zr, f, err := openGzip(spec.File)
		if err != nil {
			return nil, err
		}
		in.r, in.closer = zr, f
	default:
		f, err := os.Open(spec.File)
		if err != nil {
			return nil, fmt.Errorf("open items: %s", FileErr(err))
		}
		in.r, in.closer, in.file = f, f, f
	}
	src, err := in.open(from)
	if err != nil {
		in.closer.Close()
		return nil, err
	}
	return src, nil
}
