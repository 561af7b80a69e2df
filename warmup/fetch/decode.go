package fetch

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"
)

// maxCodings bounds the Content-Encoding layers decoded: each holds a
// decompressor's window, so a header listing thousands would cost
// memory no config limit bounds, and no origin has a reason for more.
const maxCodings = 2

// codings reads the Content-Encoding header's values into the codings
// to undo, in the order they were applied: "gzip" or "deflate"
// ("identity" is dropped). A coding there is no decoder for is an error
// naming it, when it is a registered name, so that the cause never
// quotes arbitrary response bytes.
func codings(values []string) ([]string, *Error) {
	var out []string
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			switch tok = strings.ToLower(strings.TrimSpace(tok)); tok {
			case "", "identity":
				continue
			case "gzip", "x-gzip":
				tok = "gzip"
			case "deflate":
			case "br", "zstd", "compress", "x-compress", "dcb", "dcz", "aes128gcm", "exi", "pack200-gzip":
				return nil, &Error{Cause: "unsupported Content-Encoding " + tok}
			default:
				return nil, &Error{Cause: "unsupported Content-Encoding"}
			}
			if len(out) == maxCodings {
				return nil, &Error{Cause: "more than 2 Content-Encodings"}
			}
			out = append(out, tok)
		}
	}
	return out, nil
}

// decoder undoes codings over body, the last applied first. Creating a
// decoder reads the start of the body (a gzip header), so it may fail as
// a read does.
func decoder(body io.Reader, codings []string) (io.Reader, error) {
	r := body
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		if r, err = decodeOne(r, codings[i]); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// decodeOne undoes one coding. HTTP's "deflate" is zlib-wrapped, but
// some servers send raw deflate: the first two bytes tell which.
func decodeOne(r io.Reader, coding string) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if len(head) == 0 {
		if err == io.EOF {
			// An empty body is empty, whatever its header says.
			return br, nil
		}
		return nil, err
	}
	switch {
	case coding == "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr, nil
	case isZlib(head):
		zr, err := zlib.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr, nil
	}
	return flate.NewReader(br), nil
}

// isZlib says whether head starts a zlib stream (RFC 1950): method 8
// (deflate), a window of at most 32 KiB, and a header checksum. A raw
// deflate stream passes this by chance only rarely, and then fails to
// decode rather than decoding wrong.
func isZlib(head []byte) bool {
	return len(head) == 2 && head[0]&0x0f == 8 && head[0]>>4 <= 7 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0
}

// decodeFailure names err when it says the body is not valid in its
// coding (not transient: the origin sends the same bytes again), and
// returns any other error (a read's) as it is.
func decodeFailure(err error, codings []string) error {
	var corrupt flate.CorruptInputError
	if errors.As(err, &corrupt) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) ||
		errors.Is(err, zlib.ErrHeader) || errors.Is(err, zlib.ErrChecksum) || errors.Is(err, zlib.ErrDictionary) {
		return &Error{Cause: "body does not decode as " + strings.Join(codings, ", ")}
	}
	return err
}
