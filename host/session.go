package host

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmkv/wasmkv/abi"
)

// Session answers ABI requests in process, as a run's host calls do, but without wasm:
// the benchmarks' native baseline runs the guest's own Lua modules (guest/lualib) over
// it, so the baseline pays for the same checks, policy decisions and engine calls as
// the sandbox and differs from it only in the wasm boundary. It has the stores and
// policies of its configuration, and compiles no guest.
type Session struct {
	h    *Host
	ctx  context.Context
	inst *instance
}

// NewSession builds the stores and policies of cfg for one module's runs in process.
// Close the session when done.
func NewSession(ctx context.Context, cfg *Config, module string, opts ...Option) (*Session, error) {
	h, err := newHost(cfg, opts)
	if err != nil {
		return nil, err
	}
	s := &Session{h: h, ctx: ctx}
	s.Reset(module, abi.Task{})
	return s, nil
}

// Reset starts the next run of module with task, which the guest's task request
// returns: handles from the last run are gone, and so is its outcome.
func (s *Session) Reset(module string, task abi.Task) {
	s.inst = &instance{host: s.h, module: module, task: &task, policy: s.h.countersFor(module), log: s.h.log}
}

// Exchange answers one encoded request with its encoded response, as the host function
// abi.FuncCall does after its memory checks: it copies the request first (its values
// may be stored as they are, and the caller reuses its buffer).
func (s *Session) Exchange(req []byte) ([]byte, abi.Status) {
	return s.inst.handle(s.ctx, append([]byte(nil), req...)), 0
}

// Result reports whether the run called finish, and the failure it reported.
func (s *Session) Result() (finished bool, failure *abi.Error) {
	return s.inst.finished, s.inst.result
}

// Instantiate registers the host functions of abi.ModuleName, backed by this session,
// in a runtime the caller owns and configures: the benchmarks run the real guest there
// with wazero's termination checks on and off, to measure what the checks cost, over the
// same memory protocol and request handling as the host's own runtimes.
func (s *Session) Instantiate(ctx context.Context, r wazero.Runtime) error {
	_, err := instantiateHostModule(ctx, r, func(context.Context, api.Module) (*instance, bool) { return s.inst, true })
	return err
}

// Close releases the stores.
func (s *Session) Close() error { return s.h.Close(s.ctx) }
