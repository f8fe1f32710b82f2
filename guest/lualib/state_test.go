package lualib

import "testing"

// BenchmarkResetIntact is the per-run cost of a run's environment when the previous
// script changed none of it.
func BenchmarkResetIntact(b *testing.B) {
	v := New(nil)
	v.reset()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v.reset()
	}
}

// BenchmarkResetRebuild is the cost when it must be rebuilt.
func BenchmarkResetRebuild(b *testing.B) {
	v := New(nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v.build()
	}
}

// TestResetSeesEveryChange: each change a script can make to its environment makes the
// next reset rebuild it; no change keeps it.
func TestResetSeesEveryChange(t *testing.T) {
	v := New(nil)
	v.reset()
	for _, src := range []string{
		`x = 1`, `string.rep = nil`, `string.mine = 1`, `math.pi = 3`, `table.insert = print`,
		`setmetatable(_G, {})`, `setmetatable(string, {})`, `getmetatable("").__index = {}`,
		`getmetatable("").__call = print`, `package.preload.store = nil`, `package.loaded.x = 1`,
		`package.loaders[2] = print`, `package.path = "?.lua"`, `errors.new = nil`, `_G = nil`,
		`errors.X = 1`, `rawset(_G, "y", 2)`,
	} {
		before := v.L.G.Global
		if err := v.L.DoString(src); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		v.reset()
		if v.L.G.Global == before {
			t.Errorf("after %q the environment was reused", src)
		}
	}
	before := v.L.G.Global
	if err := v.L.DoString(`local s = string.rep("x", 3) local t = {} t.x = 1 local e = errors.new("m")`); err != nil {
		t.Fatal(err)
	}
	v.reset()
	if v.L.G.Global != before {
		t.Error("a script that changed nothing got a rebuilt environment")
	}
}
