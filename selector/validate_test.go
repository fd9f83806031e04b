package selector

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidateKey(t *testing.T) {
	valid := []string{
		"a", "A", "0", "a-b", "a_b", "a.b", "a--b", "A.B_C-D", strings.Repeat("x", 63),
		"k8s.io/a", "a/b", "0/0", "a-b.c-d/E", "io.kubernetes.service.namespace",
		strings.Repeat("a", 253) + "/b",
	}
	for _, k := range valid {
		assert.Empty(t, validateKey(k), "%q", k)
	}
	invalid := map[string]string{
		"":                                  "name part must be non-empty",
		"-a":                                "name part must consist",
		"a_":                                "name part must consist",
		".a":                                "name part must consist",
		"a b":                               "name part must consist",
		"ä":                                 "name part must consist",
		strings.Repeat("x", 64):             "no more than 63",
		"/a":                                "prefix part must be non-empty",
		"a/":                                "name part must be non-empty",
		"/":                                 "prefix part must be non-empty",
		"a/b/c":                             "a qualified name",
		"//":                                "a qualified name",
		"A/b":                               "DNS-1123",
		"a_b/c":                             "DNS-1123",
		"a./c":                              "DNS-1123",
		".a/c":                              "DNS-1123",
		"a..b/c":                            "DNS-1123",
		"a-/c":                              "DNS-1123",
		strings.Repeat("a", 254) + "/b":     "no more than 253",
		"a/" + strings.Repeat("x", 64):      "no more than 63",
		"a.io/-x":                           "name part must consist",
		"prefix-ok.io/" + "name with space": "name part must consist",
	}
	for k, want := range invalid {
		assert.Contains(t, validateKey(k), want, "%q", k)
	}
}

func TestValidateValue(t *testing.T) {
	for _, v := range []string{"", "a", "0", "A-b_c.D", "1.2.3", strings.Repeat("v", 63)} {
		assert.Empty(t, validateValue(v), "%q", v)
	}
	for _, v := range []string{"-", "_a", "a.", "a b", "a/b", "a:b", "é", strings.Repeat("v", 64), "\x00"} {
		assert.NotEmpty(t, validateValue(v), "%q", v)
	}
}

func TestParseIntMatchesStrconv(t *testing.T) {
	inputs := []string{
		"", "0", "1", "-1", "+1", "00", "-0", "+", "-", "1a", " 1", "1 ", "0x10", "1_0", "1e3",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "92233720368547758070", "99999999999999999999",
		"000000000000000000000000000009", "--1", "+-1", "١",
	}
	for _, s := range inputs {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseInt(s)
		assert.Equal(t, err == nil, ok, "%q", s)
		if err == nil {
			assert.Equal(t, want, got, "%q", s)
		}
	}
}

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-9223372036854775808", "9223372036854775808", "+12", "1_2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseInt(s)
		if (err == nil) != ok || (ok && got != want) {
			t.Fatalf("parseInt(%q) = %d, %v; strconv: %d, %v", s, got, ok, want, err)
		}
	})
}
