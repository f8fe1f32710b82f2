package wasmpass

import "reflect"

// Limits are structural limits checked while decoding, before anything is allocated
// in proportion to a declared count. A zero field means the default (DefaultLimits).
// docs/security.md ("Structural limits on guest modules") gives each value's reason.
type Limits struct {
	MaxModuleBytes       uint64
	MaxFunctions         uint64 // imported + defined
	MaxFunctionBodyBytes uint64
	MaxLocalsPerFunction uint64 // declared locals, parameters included
	MaxNestingDepth      uint64 // block, loop, if, try_table
	MaxBrTableTargets    uint64
	MaxTypes             uint64
	MaxImports           uint64
	MaxExports           uint64
	MaxGlobals           uint64
	MaxDataSegments      uint64
	MaxElementSegments   uint64
	MaxTableElements     uint64 // table min size, and total entries over all element segments
	MaxTables            uint64
	MaxMemories          uint64
	MaxTags              uint64
	MaxParamsResults     uint64 // params or results of one function type
}

// DefaultLimits returns limits that every guest we know fits with a wide margin.
func DefaultLimits() Limits {
	return Limits{
		MaxModuleBytes:       64 << 20,
		MaxFunctions:         100_000,
		MaxFunctionBodyBytes: 1 << 20,
		MaxLocalsPerFunction: 50_000,
		MaxNestingDepth:      8_192,
		MaxBrTableTargets:    16_384,
		MaxTypes:             10_000,
		MaxImports:           10_000,
		MaxExports:           10_000,
		MaxGlobals:           10_000,
		MaxDataSegments:      500_000,
		MaxElementSegments:   10_000,
		MaxTableElements:     1_000_000,
		MaxTables:            100,
		MaxMemories:          1,
		MaxTags:              10_000,
		MaxParamsResults:     1_000,
	}
}

// withDefaults replaces every zero field by its default.
func (l Limits) withDefaults() Limits {
	v, d := reflect.ValueOf(&l).Elem(), reflect.ValueOf(DefaultLimits())
	for i := range v.NumField() {
		if v.Field(i).Uint() == 0 {
			v.Field(i).SetUint(d.Field(i).Uint())
		}
	}
	return l
}
