package designer

// NodeIDPattern is the rule for node ids and approval outcomes, written as an HTML pattern
// attribute (anchored by the browser) and a regular expression body alike.
const NodeIDPattern = `[a-z][a-z0-9_]{0,62}`

// ValidNodeID reports whether id matches NodeIDPattern: a lowercase letter, then up to 62
// lowercase letters, digits and underscores.
func ValidNodeID(id string) bool { return validID(id) }
