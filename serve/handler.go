package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wasmkv/wasmkv/abi"
	"github.com/wasmkv/wasmkv/govalue"
	"github.com/wasmkv/wasmkv/host"
)

// routeHandler runs one route's script for each request.
type routeHandler struct {
	s     *Server
	g     *generation
	r     *route
	guest *host.Guest
	lim   *limiter
}

// statusOf maps an error kind a script returned to the HTTP status it answers with.
func statusOf(k abi.Kind) int {
	switch k {
	case abi.Invalid:
		return http.StatusBadRequest
	case abi.PermissionDenied:
		return http.StatusForbidden
	case abi.NotFound:
		return http.StatusNotFound
	case abi.AlreadyExists, abi.Conflict:
		return http.StatusConflict
	case abi.RateLimited:
		return http.StatusTooManyRequests
	case abi.Unavailable:
		return http.StatusServiceUnavailable
	case abi.Timeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

func (rh *routeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, rt := rh.s, rh.r
	id := s.requestID()
	w.Header().Set("X-Request-Id", id)
	max := rh.g.l.settings.maxBody
	if r.ContentLength > max {
		fail(w, http.StatusRequestEntityTooLarge, "RequestTooLarge", id)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "RequestTooLarge", id)
			return
		}
		fail(w, http.StatusBadRequest, "BadRequestBody", id)
		return
	}
	if err := rh.lim.acquire(r.Context(), rt.queueWait); err != nil {
		s.metrics.runs.WithLabelValues(rt.module, "rejected").Inc()
		if r.Context().Err() != nil {
			return // the client left
		}
		w.Header().Set("Retry-After", "1")
		s.log.Warn("request refused: module at its concurrency limit", "module", rt.module, "reason", err.Error(), "request_id", id)
		fail(w, http.StatusServiceUnavailable, "Overloaded", id)
		return
	}
	script := host.Script{Module: rt.module, Name: rt.name, Source: rt.source, Guest: rh.guest,
		Logger: s.log.With("request_id", id)}
	if rh.guest != nil {
		script.Source = nil
	}
	out, err := rh.g.h.Call(r.Context(), script, encodeRequest(r, rt.params, body))
	rh.lim.release()

	var re *host.RunError
	switch {
	case err == nil:
		s.metrics.runs.WithLabelValues(rt.module, "ok").Inc()
		if werr := writeResult(w, out); werr != nil {
			s.log.Error("handler returned an unusable response", "module", rt.module, "route", rt.pattern, "err", werr, "request_id", id)
			fail(w, http.StatusInternalServerError, "Internal", id)
		}
	case errors.As(err, &re) && out != nil:
		// Returned nil, err: the script chose the answer.
		s.metrics.runs.WithLabelValues(rt.module, "returned_error").Inc()
		code := statusOf(re.Kind)
		if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		s.log.Info("handler returned an error", "module", rt.module, "kind", re.Kind, "msg", re.Message, "request_id", id)
		fail(w, code, string(re.Kind), id)
	case errors.As(err, &re) && re.Kind == abi.Canceled:
		s.metrics.runs.WithLabelValues(rt.module, "canceled").Inc()
	case errors.As(err, &re) && re.Kind == abi.Timeout:
		s.metrics.runs.WithLabelValues(rt.module, "timeout").Inc()
		s.log.Error("handler timed out", "module", rt.module, "msg", re.Message, "request_id", id)
		fail(w, http.StatusGatewayTimeout, string(abi.Timeout), id)
	default:
		s.metrics.runs.WithLabelValues(rt.module, "failed").Inc()
		s.log.Error("handler failed", "module", rt.module, "err", err, "request_id", id)
		fail(w, http.StatusInternalServerError, "Internal", id)
	}
}

// fail writes an error answer that names only a kind and the request id: the reason is
// in the log, under the same id.
func fail(w http.ResponseWriter, code int, kind, id string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]string{"error": kind, "request_id": id})
	w.Write(append(b, '\n'))
}

// Headers a script may not set: the server owns the framing of the response.
var reservedHeaders = map[string]bool{
	"content-length": true, "transfer-encoding": true, "connection": true, "trailer": true,
	"upgrade": true, "keep-alive": true, "te": true, "proxy-connection": true,
}

// writeResult writes a script's return value: nil (204), a string (200, text/plain) or
// a response table. It checks the whole value before writing anything, so a bad value
// is still a clean 500.
func writeResult(w http.ResponseWriter, out []byte) error {
	var v any
	if len(out) > 0 {
		if err := govalue.Unmarshal(out, &v); err != nil {
			return err
		}
	}
	switch v := v.(type) {
	case nil:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case string:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, v)
		return nil
	case []byte:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(v)
		return nil
	case map[any]any:
		return writeTable(w, v)
	}
	return fmt.Errorf("returned a %T; want a response table, a string or nil", v)
}

func writeTable(w http.ResponseWriter, t map[any]any) error {
	code := http.StatusOK
	var body []byte
	hdr := http.Header{}
	for k, val := range t {
		switch k {
		case "status":
			n, ok := val.(int64) // govalue decodes integers as int64
			if !ok || n < 200 || n > 599 {
				return fmt.Errorf("status %v: want an integer from 200 to 599", val)
			}
			code = int(n)
		case "body":
			switch b := val.(type) {
			case string:
				body = []byte(b)
			case []byte:
				body = b
			default:
				return fmt.Errorf("body: want a string, got %T", val)
			}
		case "headers":
			m, ok := val.(map[any]any)
			if !ok {
				return fmt.Errorf("headers: want a table of names to strings")
			}
			for name, hv := range m {
				ns, ok := name.(string)
				if !ok || !validName(ns) {
					return fmt.Errorf("headers: %q is not a valid header name", name)
				}
				if reservedHeaders[strings.ToLower(ns)] {
					return fmt.Errorf("headers: %s is set by the server", ns)
				}
				var vals []any
				switch hv := hv.(type) {
				case string:
					vals = []any{hv}
				case []any:
					vals = hv
				default:
					return fmt.Errorf("headers: %s: want a string or a list of strings", ns)
				}
				for _, x := range vals {
					xs, ok := x.(string)
					if !ok || !validValue(xs) {
						return fmt.Errorf("headers: %s: invalid value %q", ns, x)
					}
					hdr.Add(ns, xs)
				}
			}
		default:
			return fmt.Errorf("unknown response field %v (status, headers, body)", k)
		}
	}
	for name, vals := range hdr {
		w.Header()[name] = vals
	}
	if len(body) > 0 && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	if len(body) > 0 && (code == http.StatusNoContent || code == http.StatusNotModified) {
		return fmt.Errorf("status %d has no body", code)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
	return nil
}

// validName reports whether s is an RFC 9110 token, as a header name must be.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validValue reports whether s may be a header value: no control characters but tab,
// so a script cannot split the response.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
