package abi

// Status is a negative result of a host function: the call failed at the memory
// level, before any message could be exchanged. A failure that can be described in a
// message is a [Response] with an [Error] instead.
type Status int64

const (
	// StatusBadPointer: a (ptr, len) pair does not lie inside the guest's memory.
	StatusBadPointer Status = -1
	// StatusTooLarge: the request is longer than [MaxRequestBytes].
	StatusTooLarge Status = -2
	// StatusNoPending: [FuncTake] was called with no response pending.
	StatusNoPending Status = -3
	// StatusOverlap: the response buffer overlaps the request.
	StatusOverlap Status = -4
	// StatusInternal: the host failed; the run is being stopped.
	StatusInternal Status = -5
)

// String names the status.
func (s Status) String() string {
	switch s {
	case StatusBadPointer:
		return "bad pointer"
	case StatusTooLarge:
		return "request too large"
	case StatusNoPending:
		return "no pending response"
	case StatusOverlap:
		return "response buffer overlaps request"
	case StatusInternal:
		return "internal host error"
	}
	return "unknown status"
}
