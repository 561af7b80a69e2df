package config

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/warmup/source"
)

var _ source.Decoder = (*itemsDecoder)(nil)

// itemsDecoder is what a source kind decoding loader n's items table is
// given (source.Decoder): the validator's ways, with the table's path.
type itemsDecoder struct {
	v   *validator
	n   int
	run RunConfig
}

func (d *itemsDecoder) Path(key string) string {
	if key == "" {
		return fmt.Sprintf("loader[%d].items", d.n)
	}
	return fmt.Sprintf("loader[%d].items.%s", d.n, key)
}

func (d *itemsDecoder) Expand(path, s string, secret bool) string { return d.v.expand(path, s, secret) }
func (d *itemsDecoder) Fail(path, format string, args ...any)     { d.v.fail(path, format, args...) }
func (d *itemsDecoder) Failed() bool                              { return d.v.err != nil }
func (d *itemsDecoder) Resolve(name string) string                { return d.v.file(name) }
func (d *itemsDecoder) Secrets() *redact.Redactor                 { return d.v.secrets }
func (d *itemsDecoder) Context() context.Context                  { return d.v.ctx }
func (d *itemsDecoder) Stdin() io.Reader                          { return d.v.stdin }
func (d *itemsDecoder) Limits() (time.Duration, int64)            { return d.run.Timeout, d.run.MaxBody }

func (d *itemsDecoder) ClaimStdin(path string) io.Reader {
	if d.v.stdinLoader > 0 {
		d.v.fail(path, "only one loader can read standard input (loader[%d] does)", d.v.stdinLoader)
	}
	d.v.stdinLoader = d.n
	return d.v.stdin
}

// decodeRaw decodes data strictly into raw, each loader's items table into
// the shape the source kinds registered (items): rawConfig with its
// loaders' Items field of that type, built once per parse, so that one
// decode reports the first problem in the file's order, as it always did.
func decodeRaw(data []byte, items reflect.Type, raw *rawConfig) error {
	loaderT := retype(reflect.TypeOf(rawLoader{}), "Items", items)
	configT := retype(reflect.TypeOf(rawConfig{}), "Loader", reflect.SliceOf(loaderT))
	dyn := reflect.New(configT)
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(dyn.Interface())
	out := reflect.ValueOf(raw).Elem()
	copyFields(out, dyn.Elem(), "Loader")
	loaders := dyn.Elem().FieldByName("Loader")
	raw.Loader = make([]rawLoader, loaders.Len())
	for i := range raw.Loader {
		copyFields(reflect.ValueOf(&raw.Loader[i]).Elem(), loaders.Index(i), "Items")
		if it := loaders.Index(i).FieldByName("Items"); !it.IsNil() {
			raw.Loader[i].Items = it.Interface()
		}
	}
	return err
}

// retype is struct type t with its field name of type typ instead.
func retype(t reflect.Type, name string, typ reflect.Type) reflect.Type {
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		fields[i] = t.Field(i)
		if fields[i].Name == name {
			fields[i].Type = typ
		}
	}
	return reflect.StructOf(fields)
}

// copyFields sets dst's fields from src's, of the same names and types,
// but for skip.
func copyFields(dst, src reflect.Value, skip string) {
	for i := range dst.NumField() {
		if dst.Type().Field(i).Name != skip {
			dst.Field(i).Set(src.Field(i))
		}
	}
}
