package lualib

import (
	"bytes"
	"crypto/sha256"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// maxCachedChunks bounds the compiled-chunk cache of one instance.
const maxCachedChunks = 64

// chunkCache keeps compiled chunks by a hash of name and source: a warm instance that
// runs the same script again skips the parser and the compiler.
type chunkCache struct {
	protos map[[32]byte]*lua.FunctionProto
	order  [][32]byte // insertion order, for evicting the oldest
}

func newChunkCache() chunkCache { return chunkCache{protos: map[[32]byte]*lua.FunctionProto{}} }

func (c *chunkCache) compile(name string, src []byte) (*lua.FunctionProto, error) {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(src)
	var key [32]byte
	h.Sum(key[:0])
	if p, ok := c.protos[key]; ok {
		return p, nil
	}
	stmts, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, err
	}
	p, err := lua.Compile(stmts, name)
	if err != nil {
		return nil, err
	}
	if len(c.order) == maxCachedChunks {
		delete(c.protos, c.order[0])
		c.order = c.order[1:]
	}
	c.protos[key] = p
	c.order = append(c.order, key)
	return p, nil
}
