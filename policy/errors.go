package policy

import "fmt"

// CompileError is the only error Compile returns. It names the policy and
// the field so that an operator can fix the configuration from the message
// alone; the host refuses to start on it rather than run with a policy it
// cannot evaluate.
type CompileError struct {
	// Index is the position of the policy in the slice given to Compile.
	Index int
	// Policy is the policy's name, or "" when it has none.
	Policy string
	// Field is the path of the offending field inside the policy, such as
	// "actions[1]" or "conditions[0].operator".
	Field string
	// Reason says what is wrong with the field.
	Reason string
}

// Error identifies an unnamed policy by its position, since a name is what
// it lacks.
func (e *CompileError) Error() string {
	who := fmt.Sprintf("policies[%d]", e.Index)
	if e.Policy != "" {
		who = fmt.Sprintf("policy %q", e.Policy)
	}
	return "policy: " + who + ": " + e.Field + ": " + e.Reason
}
