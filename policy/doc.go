// Package policy decides whether a guest module may perform a store action.
//
// The facade is small on purpose: Compile turns configured rules into an
// immutable Set, and Set.Decide answers one Request at a time. The
// discipline follows Cedar:
//
//   - Default deny. A request that no policy matches is denied, with
//     Decision.Policy "".
//   - Deny wins. If any matching policy is a deny, the request is denied,
//     whatever allows also match.
//   - Never fail open. Compile is the only place a policy can fail; it
//     rejects anything it could not evaluate. Decide has no error path: it
//     cannot fail, panic on input, or allocate.
//
// # Model
//
// The actor is the module name, the action one of the Action constants, the
// resource the store id. store.key.get, set, delete and has carry a key;
// store.key.list carries a prefix; store.get and store.info carry neither.
//
// A policy has a unique, non-empty name, an effect, the pattern lists
// modules, actions, resources and keys, and conditions that must all hold. A
// pattern is an exact string, or a glob where each '*' stands for any run of
// bytes (several are allowed: "user:*:profile:*"); no other character is
// special. Matching is byte-wise and case-sensitive, as are effect, field
// and operator names. An absent (nil) list means any; an explicitly empty
// list and an empty pattern are load errors. Beware that YAML decodes a key
// written with no value ("modules:") as absent, that is, as any. Every
// action pattern must match at least one known action ("store.key.*" and
// "*" do), so a typo cannot make a policy silently inert. An empty
// conditions list is allowed and means no conditions.
//
// When several policies of the deciding effect match, the one listed first
// is reported, so the name in a decision does not depend on the index.
//
// # Keys, prefixes and absent attributes
//
// These choices keep to the spec's rule for keys and otherwise fail closed:
//
//   - keys patterns and conditions on field key do not constrain store.get
//     and store.info, which carry no key; the policy still matches them.
//     This cuts both ways: a deny on keys: [admin:*] that does not restrict
//     its actions also denies store.get, so scope it with
//     actions: [store.key.*].
//   - On store.key.list with prefix P, an allow's keys match only if one of
//     its patterns matches every key that starts with P: "user:*" covers
//     P="user:" and P="user:1", not P="us" or P="". A deny's keys match if
//     one pattern could match some key that starts with P: deny "admin:*"
//     matches P="", "ad" and "admin:x", not "user:".
//   - A condition on field key, on store.key.list, is read the same way. For
//     an allow it must hold for every key starting with P (P itself
//     included), for a deny it must possibly hold for one. Each is judged
//     exactly for eq, ne, in, nin, prefix, suffix and contains. For matches it
//     is not decidable cheaply, so it never holds for an allow and always
//     holds for a deny: use keys patterns to scope listings. Keys patterns
//     and key conditions are judged one by one, so a deny may fire when no
//     single key satisfies all of them at once.
//   - A condition on field prefix is tested against P itself on
//     store.key.list. On every other action the prefix is absent: the
//     condition is false for an allow, so the allow does not match, and true
//     for a deny, so the deny does match. Scope such policies with
//     actions: [store.key.list].
//   - A request whose action is not one of the Action constants is denied.
//     Request.Key is ignored on store.key.list, and Request.Prefix on every
//     other action.
//
// # Conditions
//
// Fields are module, action, resource, key and prefix. Operators are eq, ne,
// prefix, suffix, contains, matches (RE2, unanchored unless the expression
// anchors itself), each with a string value, and in and nin with a non-empty
// list of strings. A value of any other type, such as a YAML number, is a
// load error: quote it.
//
// # Cost
//
// Patterns and regular expressions are compiled once by Compile. The Set
// indexes policies by action, then by exact store id (with globs in a list
// of their own), then by exact module name likewise, so Decide only looks at
// policies that name the request's action, store and module or use a glob
// there. It does not allocate.
package policy
