package sdk

import "github.com/wasmkv/wasmkv/abi"

// FinishResult reports the run's outcome together with its result, one value in the
// value encoding, for a task that asked for one (abi.Task.Result): see abi.OpFinish for
// what result holds. A nil result sends none.
func FinishResult(e *abi.Error, result []byte) {
	var resp abi.Response
	_ = Call(&abi.Request{Op: abi.OpFinish, Err: e, Value: result}, &resp)
}
