package abi_test

import (
	"github.com/fxamacker/cbor/v2"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/govalue"
)

// The oracle of the differential tests: fxamacker/cbor, configured as the host's decoder
// was before abi had a codec of its own, over mirror types whose values are
// cbor.RawMessage (abi's are []byte, which fxamacker would wrap in a byte string).

type oError = abi.Error

type oRequest struct {
	Op           abi.Op          `cbor:"op"`
	Handle       uint32          `cbor:"h,omitempty"`
	ID           string          `cbor:"id,omitempty"`
	Key          []byte          `cbor:"key,omitempty"`
	Value        cbor.RawMessage `cbor:"val,omitempty"`
	TTL          int64           `cbor:"ttl,omitempty"`
	OnlyIfAbsent bool            `cbor:"absent,omitempty"`
	Limits       bool            `cbor:"limits,omitempty"`
	IfVersion    *string         `cbor:"ifver,omitempty"`
	Delta        float64         `cbor:"delta,omitempty"`
	Prefix       []byte          `cbor:"prefix,omitempty"`
	After        []byte          `cbor:"after,omitempty"`
	Limit        int64           `cbor:"limit,omitempty"`
	Err          *oError         `cbor:"err,omitempty"`
}

type oEntry struct {
	Key     []byte          `cbor:"key"`
	Value   cbor.RawMessage `cbor:"val"`
	Version string          `cbor:"ver"`
	TTL     *int64          `cbor:"ttl,omitempty"`
}

type oPage struct {
	Items  []oEntry `cbor:"items"`
	Cursor []byte   `cbor:"cursor"`
	More   bool     `cbor:"more"`
}

type oResponse struct {
	Err    *oError         `cbor:"err,omitempty"`
	OK     bool            `cbor:"ok,omitempty"`
	Handle uint32          `cbor:"h,omitempty"`
	MaxVal int64           `cbor:"maxval,omitempty"`
	Value  cbor.RawMessage `cbor:"val,omitempty"`
	Task   *oTask          `cbor:"task,omitempty"`
	Entry  *oEntry         `cbor:"entry,omitempty"`
	Page   *oPage          `cbor:"page,omitempty"`
	Info   *abi.Info       `cbor:"info,omitempty"`
}

// oTask mirrors abi.Task with its value field as a raw message.
type oTask struct {
	Name        string          `cbor:"name"`
	Source      []byte          `cbor:"src"`
	Args        [][]byte        `cbor:"args,omitempty"`
	MemoryLimit int64           `cbor:"mem,omitempty"`
	Input       cbor.RawMessage `cbor:"in,omitempty"`
	Result      bool            `cbor:"res,omitempty"`
}

// The oracle encodes as govalue does (deterministic, floats as float64), and decodes
// messages with govalue's value limits, at the message depth, with field names matched
// exactly: requests refuse unknown fields, responses skip them.
var oracleEnc, oracleReqDec, oracleRespDec = func() (cbor.EncMode, cbor.DecMode, cbor.DecMode) {
	opts := govalue.DecMode().DecOptions()
	opts.MaxNestedLevels = abi.MaxMessageDepth
	opts.FieldNameMatching = cbor.FieldNameMatchingCaseSensitive
	opts.ExtraReturnErrors = cbor.ExtraDecErrorUnknownField
	req, err := opts.DecMode()
	if err != nil {
		panic(err)
	}
	opts.ExtraReturnErrors = cbor.ExtraDecErrorNone
	resp, err := opts.DecMode()
	if err != nil {
		panic(err)
	}
	return govalue.EncMode(), req, resp
}()

// convert copies a message into its mirror or back, field by field (JSON would mangle
// invalid UTF-8 and refuse NaN).
func convert(from, to any) {
	switch f := from.(type) {
	case *abi.Request:
		*to.(*oRequest) = oRequest{f.Op, f.Handle, f.ID, f.Key, f.Value, f.TTL, f.OnlyIfAbsent, f.Limits, f.IfVersion,
			f.Delta, f.Prefix, f.After, f.Limit, f.Err}
	case *oRequest:
		*to.(*abi.Request) = abi.Request{Op: f.Op, Handle: f.Handle, ID: f.ID, Key: f.Key, Value: f.Value, TTL: f.TTL,
			OnlyIfAbsent: f.OnlyIfAbsent, Limits: f.Limits, IfVersion: f.IfVersion, Delta: f.Delta, Prefix: f.Prefix,
			After: f.After, Limit: f.Limit, Err: f.Err}
	case *abi.Response:
		o := oResponse{Err: f.Err, OK: f.OK, Handle: f.Handle, MaxVal: f.MaxValueBytes, Value: f.Value, Info: f.Info}
		if t := f.Task; t != nil {
			o.Task = &oTask{t.Name, t.Source, t.Args, t.MemoryLimit, t.Input, t.Result}
		}
		if f.Entry != nil {
			o.Entry = &oEntry{f.Entry.Key, f.Entry.Value, f.Entry.Version, f.Entry.TTL}
		}
		if f.Page != nil {
			o.Page = &oPage{Cursor: f.Page.Cursor, More: f.Page.More, Items: []oEntry{}}
			for _, e := range f.Page.Items {
				o.Page.Items = append(o.Page.Items, oEntry{e.Key, e.Value, e.Version, e.TTL})
			}
		}
		*to.(*oResponse) = o
	case *oResponse:
		r := abi.Response{Err: f.Err, OK: f.OK, Handle: f.Handle, MaxValueBytes: f.MaxVal, Value: f.Value, Info: f.Info}
		if t := f.Task; t != nil {
			r.Task = &abi.Task{Name: t.Name, Source: t.Source, Args: t.Args, MemoryLimit: t.MemoryLimit, Input: t.Input, Result: t.Result}
		}
		if f.Entry != nil {
			r.Entry = &abi.Entry{Key: f.Entry.Key, Value: f.Entry.Value, Version: f.Entry.Version, TTL: f.Entry.TTL}
		}
		if f.Page != nil {
			r.Page = &abi.Page{Cursor: f.Page.Cursor, More: f.Page.More, Items: []abi.Entry{}}
			for _, e := range f.Page.Items {
				r.Page.Items = append(r.Page.Items, abi.Entry{Key: e.Key, Value: e.Value, Version: e.Version, TTL: e.TTL})
			}
		}
		*to.(*abi.Response) = r
	default:
		panic("convert: not a message")
	}
}

// oracleMarshal encodes a *abi.Request or *abi.Response with the oracle.
func oracleMarshal(msg any) ([]byte, error) {
	switch m := msg.(type) {
	case *abi.Request:
		var o oRequest
		convert(m, &o)
		return oracleEnc.Marshal(&o)
	case *abi.Response:
		var o oResponse
		convert(m, &o)
		return oracleEnc.Marshal(&o)
	}
	return oracleEnc.Marshal(msg)
}

// oracleDecodeResponse decodes b with the oracle.
func oracleDecodeResponse(b []byte, r *abi.Response) error {
	var o oResponse
	if err := oracleRespDec.Unmarshal(b, &o); err != nil {
		return err
	}
	*r = abi.Response{}
	convert(&o, r)
	return nil
}

// oracleDecodeRequest decodes b with the oracle.
func oracleDecodeRequest(b []byte, r *abi.Request) error {
	var o oRequest
	if err := oracleReqDec.Unmarshal(b, &o); err != nil {
		return err
	}
	*r = abi.Request{}
	convert(&o, r)
	return nil
}

// valueOf encodes a Go value as a stored value, with the oracle.
func valueOf(v any) []byte {
	b, err := oracleEnc.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
