package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrStory reports a step that did not behave as the story says.
var ErrStory = errors.New("the story did not go as told")

// A Guide prints the story as a lab guide would: numbered steps, what
// happens, and the checks that passed.
type Guide struct {
	w io.Writer
	n int
}

// NewGuide returns a Guide printing to w.
func NewGuide(w io.Writer) *Guide { return &Guide{w: w} }

// Step starts the next step.
func (g *Guide) Step(format string, args ...any) {
	g.n++
	fmt.Fprintf(g.w, "\nStep %d: %s\n", g.n, fmt.Sprintf(format, args...))
}

// Say tells what happens.
func (g *Guide) Say(format string, args ...any) {
	fmt.Fprintf(g.w, "   %s\n", fmt.Sprintf(format, args...))
}

// OK tells a check that passed.
func (g *Guide) OK(format string, args ...any) {
	fmt.Fprintf(g.w, "   ok: %s\n", fmt.Sprintf(format, args...))
}

// Indent prints a multi-line text (such as an HTTP body) indented; JSON is
// pretty-printed.
func (g *Guide) Indent(text string) {
	var b bytes.Buffer
	if json.Indent(&b, []byte(text), "", "  ") == nil {
		text = b.String()
	}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(g.w, "      | %s\n", l)
	}
}

// Fail returns an error, wrapping ErrStory, for the current step.
func (g *Guide) Fail(format string, args ...any) error {
	return fmt.Errorf("step %d: %w: %s", g.n, ErrStory, fmt.Sprintf(format, args...))
}
