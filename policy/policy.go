package policy

// Effect is what a policy does to the requests it matches.
type Effect string

// The two effects. There is no third: anything else is a load error, so a
// typo cannot silently turn a deny into something weaker.
const (
	Allow Effect = "allow"
	Deny  Effect = "deny"
)

// Action names, as the host passes them in Request.Action and as policies
// name them. They are the only actions a policy can mention.
const (
	ActionStoreGet  = "store.get"
	ActionStoreInfo = "store.info"
	ActionKeyGet    = "store.key.get"
	ActionKeySet    = "store.key.set"
	ActionKeyDelete = "store.key.delete"
	ActionKeyHas    = "store.key.has"
	ActionKeyList   = "store.key.list"
)

const numKnownActions = 7

// actionKind says which attribute an action carries, which decides how
// keys and key conditions apply to it.
type actionKind uint8

const (
	kindStore actionKind = iota // store.get, store.info: no key
	kindKey                     // carries Request.Key
	kindList                    // carries Request.Prefix
)

var knownActions = [numKnownActions]string{
	ActionStoreGet, ActionStoreInfo,
	ActionKeyGet, ActionKeySet, ActionKeyDelete, ActionKeyHas,
	ActionKeyList,
}

var knownActionKinds = [numKnownActions]actionKind{
	kindStore, kindStore,
	kindKey, kindKey, kindKey, kindKey,
	kindList,
}

// actionID is a switch rather than a map so that Decide stays cheap and a
// request with an unknown action resolves to "no policy applies".
func actionID(a string) int {
	switch a {
	case ActionStoreGet:
		return 0
	case ActionStoreInfo:
		return 1
	case ActionKeyGet:
		return 2
	case ActionKeySet:
		return 3
	case ActionKeyDelete:
		return 4
	case ActionKeyHas:
		return 5
	case ActionKeyList:
		return 6
	}
	return -1
}

// Condition is an extra test on one attribute of the request. All of a
// policy's conditions must hold for it to match.
type Condition struct {
	// Field is the attribute tested: module, action, resource, key or prefix.
	Field string `yaml:"field" json:"field"`
	// Operator is one of eq, ne, in, nin, prefix, suffix, contains or
	// matches (an RE2 regular expression, unanchored unless it says so).
	Operator string `yaml:"operator" json:"operator"`
	// Value is a string, or for in and nin a non-empty list of strings
	// ([]string, or []any holding only strings as YAML and JSON decoders
	// produce). Any other type is a load error rather than a guess.
	Value any `yaml:"value" json:"value"`
}

// Rule is one policy as written in configuration. Its pattern lists use
// nil to mean "any"; a list that is present but empty is a load error
// because it is ambiguous between "any" and "none".
type Rule struct {
	// Name identifies the policy in decisions, logs and load errors; it is
	// required and unique so that every decision can be traced to one rule.
	Name string `yaml:"name" json:"name"`
	// Effect is Allow or Deny.
	Effect Effect `yaml:"effect" json:"effect"`
	// Modules are patterns on the acting module's name.
	Modules []string `yaml:"modules" json:"modules"`
	// Actions are patterns on the action; each must match a known action.
	Actions []string `yaml:"actions" json:"actions"`
	// Resources are patterns on the store id.
	Resources []string `yaml:"resources" json:"resources"`
	// Keys are patterns on the key, or on the keys a listing could return.
	Keys []string `yaml:"keys" json:"keys"`
	// Conditions must all hold for the policy to match.
	Conditions []Condition `yaml:"conditions" json:"conditions"`
}

// Request describes one store action that a guest attempts.
type Request struct {
	// Module is the name the host gave the guest module.
	Module string
	// Action is one of the Action constants; any other value is denied.
	Action string
	// Resource is the store id.
	Resource string
	// Key is the key of store.key.get, set, delete and has.
	Key string
	// Prefix is the prefix of store.key.list.
	Prefix string
}

// Decision is the outcome of Set.Decide.
type Decision struct {
	// Allowed is true only when an allow matched and no deny did.
	Allowed bool
	// Policy is the name of the deciding policy, for logs: the deny that
	// won, or the allow that granted. It is "" when the request was denied
	// because nothing matched, which is the default and not a rule's doing.
	Policy string
}
