package bench

import (
	"context"
	"errors"
	"time"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/guest/lualib"
	"github.com/wasmkv/wasmkv/host"
)

// Native runs Lua on native gopher-lua: the guest's own Lua VM and modules
// (guest/lualib, with its options, libraries, per-run environment and argument checks),
// talking to the host's own request handler in process (host.Session, with its checks,
// policies and engines). The only difference from the sandbox is the wasm boundary: no
// wasm, and no host call across it.
type Native struct {
	sess   *host.Session
	vm     *lualib.VM
	src    []byte
	module string
}

// NewNative builds the native baseline for src, run as module under cfg.
func NewNative(src []byte, cfg *host.Config, module string) (*Native, error) {
	sess, err := host.NewSession(context.Background(), cfg, module)
	if err != nil {
		return nil, err
	}
	return &Native{sess: sess, vm: lualib.New(sess), src: src, module: module}, nil
}

// Close releases the VM's host side.
func (n *Native) Close() { n.sess.Close() }

// Run runs the script once with args, as the guest serves a run (task, run, finish),
// and returns how long it took.
func (n *Native) Run(args ...string) (time.Duration, error) {
	task := abi.Task{Name: "bench.lua", Source: n.src}
	for _, a := range args {
		task.Args = append(task.Args, []byte(a))
	}
	n.sess.Reset(n.module, task)
	start := time.Now()
	n.vm.Serve(nil)
	d := time.Since(start)
	switch finished, failure := n.sess.Result(); {
	case !finished:
		return d, errors.New("bench: native run did not finish")
	case failure != nil:
		return d, failure
	}
	return d, nil
}
