package selector

import "strings"

// Limits of label keys and values, as in Kubernetes.
const (
	maxNameLen   = 63  // name part of a key, and a value
	maxPrefixLen = 253 // DNS subdomain prefix of a key
)

const (
	nameChars = "consist of alphanumeric characters, '-', '_' or '.', " +
		"and must start and end with an alphanumeric character"
	nameShape = "must " + nameChars
)

// validateKey reports why key is not a Kubernetes qualified name
// ([prefix/]name), or "" if it is valid.
func validateKey(key string) string {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name = key
	} else if strings.Contains(name, "/") {
		return "a qualified name " + nameShape +
			", with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
	} else if why := validatePrefix(prefix); why != "" {
		return "prefix part " + why
	}
	switch {
	case name == "":
		return "name part must be non-empty"
	case len(name) > maxNameLen:
		return "name part must be no more than 63 characters"
	case !isName(name):
		return "name part " + nameShape
	}
	return ""
}

// validatePrefix reports why p is not a DNS-1123 subdomain, or "".
func validatePrefix(p string) string {
	switch {
	case p == "":
		return "must be non-empty"
	case len(p) > maxPrefixLen:
		return "must be no more than 253 characters"
	}
	for label := range strings.SplitSeq(p, ".") {
		if !isDNSLabel(label) {
			return "must be a DNS-1123 subdomain: lower case alphanumeric characters, " +
				"'-' or '.', starting and ending with an alphanumeric character (e.g. 'example.com')"
		}
	}
	return ""
}

// validateValue reports why v is not a valid label value, or "".
func validateValue(v string) string {
	switch {
	case len(v) > maxNameLen:
		return "must be no more than 63 characters"
	case v != "" && !isName(v):
		return "must be empty or " + nameChars
	}
	return ""
}

// isName reports whether s matches ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
func isName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isDNSLabel reports whether s matches [a-z0-9]([-a-z0-9]*[a-z0-9])?.
func isDNSLabel(s string) bool {
	if s == "" || !isLowerAlnum(s[0]) || !isLowerAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }

// parseInt parses s like strconv.ParseInt(s, 10, 64) but without allocating
// on failure, for use on the match path.
func parseInt(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true // n == 1<<63 wraps to MinInt64, as wanted
	}
	if n == 1<<63 {
		return 0, false
	}
	return int64(n), true
}
