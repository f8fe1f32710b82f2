package serve

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// The request reaches the script as one value in the ABI's value encoding (CBOR, see
// docs/abi.md "Values"), which every guest already decodes for the store. It is written
// here by hand: its shape is fixed (maps of strings and lists of strings), and a string
// that is not valid UTF-8 (a raw body, say) must go as a byte string, which the guest
// reads back as the same Lua string.

const (
	majorBytes = 2 << 5
	majorText  = 3 << 5
	majorArray = 4 << 5
	majorMap   = 5 << 5
)

func appendHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= math.MaxUint8:
		return append(b, major|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, major|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendString(b []byte, s string) []byte {
	major := byte(majorText)
	if !utf8.ValidString(s) {
		major = majorBytes
	}
	return append(appendHead(b, major, uint64(len(s))), s...)
}

// encodeRequest builds the request table: method, path, params (path parameters by
// name), query (each name to the list of its values, in order, so repeated keys are
// kept), headers (lower-case names; repeated headers joined with ", " as RFC 9110
// allows), body and remote_addr.
func encodeRequest(r *http.Request, params []string, body []byte) []byte {
	b := make([]byte, 0, 256+len(body))
	b = appendHead(b, majorMap, 7)
	b = appendString(b, "method")
	b = appendString(b, r.Method)
	b = appendString(b, "path")
	b = appendString(b, r.URL.Path)

	b = appendString(b, "params")
	b = appendHead(b, majorMap, uint64(len(params)))
	for _, name := range params {
		b = appendString(appendString(b, name), r.PathValue(name))
	}

	b = appendString(b, "query")
	q := r.URL.Query()
	b = appendHead(b, majorMap, uint64(len(q)))
	for _, name := range slices.Sorted(maps.Keys(q)) {
		b = appendString(b, name)
		b = appendHead(b, majorArray, uint64(len(q[name])))
		for _, v := range q[name] {
			b = appendString(b, v)
		}
	}

	b = appendString(b, "headers")
	// Canonical keys differ only in case from their lower-case form, so no two collide.
	// net/http moves Host out of the header map; the script gets it back as "host".
	n := len(r.Header)
	if r.Host != "" {
		n++
		b = appendHead(b, majorMap, uint64(n))
		b = appendString(appendString(b, "host"), r.Host)
	} else {
		b = appendHead(b, majorMap, uint64(n))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		b = appendString(b, strings.ToLower(name))
		b = appendString(b, strings.Join(r.Header[name], ", "))
	}

	b = appendString(b, "body")
	b = appendString(b, string(body))
	b = appendString(b, "remote_addr")
	b = appendString(b, r.RemoteAddr)
	return b
}
