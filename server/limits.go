package server

// MaxArgDepth is how deeply a tool argument's JSON value may nest: an
// object or array is one level, each object or array inside it one more.
// Deeper values are refused with an error naming the argument, before any
// handler or store sees them.
const MaxArgDepth = 64

// nestedDeeper reports whether v, a decoded JSON value, nests deeper than
// limit levels. It stops descending at limit+1, so its own stack stays
// small whatever the depth of v.
func nestedDeeper(v any, limit int) bool {
	switch x := v.(type) {
	case map[string]any:
		if limit == 0 {
			return true
		}
		for _, e := range x {
			if nestedDeeper(e, limit-1) {
				return true
			}
		}
	case []any:
		if limit == 0 {
			return true
		}
		for _, e := range x {
			if nestedDeeper(e, limit-1) {
				return true
			}
		}
	}
	return false
}
