package host

import "time"

// RouteConfig is one HTTP route of wasmkv serve: requests that match Method and Path
// run a script as Module. Package serve validates routes; the host only parses them.
type RouteConfig struct {
	// Method is an HTTP method (GET, POST, ...); empty matches every method.
	Method string `yaml:"method"`
	// Path is a net/http ServeMux pattern path, with {name} wildcards.
	Path string `yaml:"path"`
	// Module is the policy actor and the source of the run's limits.
	Module string `yaml:"module"`
	// Script is a Lua file, Wasm a guest module built against the ABI: exactly one is
	// set. Both are relative to the configuration file.
	Script string `yaml:"script"`
	Wasm   string `yaml:"wasm"`
}

// ServerConfig holds wasmkv serve's HTTP limits. Zero values take serve's defaults.
type ServerConfig struct {
	MaxBodyBytes      ByteSize      `yaml:"max_body_bytes"`
	MaxHeaderBytes    ByteSize      `yaml:"max_header_bytes"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
}
