//go:build guestprof && !wasip1

package sdk

import (
	"fmt"

	"github.com/wasmkv/wasmkv/abi"
)

// FakeTask is what the in-process host hands out for abi.OpTask; FakeResult is the error
// the last abi.OpFinish reported.
var (
	FakeTask   *abi.Task
	FakeResult *abi.Error

	fakeData    = map[string][]byte{}
	fakePending []byte
)

func callHost(req, resp []byte) int64 {
	var r abi.Request
	var out abi.Response
	if err := abi.DecodeRequest(req, &r); err != nil {
		panic(err)
	}
	switch r.Op {
	case abi.OpTask:
		out.Task = FakeTask
	case abi.OpFinish:
		FakeResult = r.Err
	case abi.OpOpen:
		out.Handle = 1
	case abi.OpRelease:
		out.OK = true
	case abi.OpSet:
		if err := abi.CheckValue(r.Value); err != nil {
			panic(err)
		}
		fakeData[string(r.Key)] = append([]byte(nil), r.Value...)
		out.OK = true
	case abi.OpGet:
		if v, ok := fakeData[string(r.Key)]; ok {
			out.Value = append([]byte(nil), v...)
		} else {
			out.Err = abi.NewError(abi.NotFound, fmt.Sprintf("key %q not found", r.Key))
		}
	default:
		out.Err = abi.NewError(abi.Invalid, "guestprof: unsupported op")
	}
	b, err := abi.EncMode.Marshal(&out)
	if err != nil {
		panic(err)
	}
	if len(b) > len(resp) {
		fakePending = b
		return int64(len(b))
	}
	return int64(copy(resp, b))
}

func takeHost(resp []byte) int64 {
	n := copy(resp, fakePending)
	fakePending = nil
	return int64(n)
}
