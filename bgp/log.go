package bgp

import (
	"context"
	"log/slog"
)

// levelTrace is below slog.LevelDebug: GoBGP's debug messages (one per
// route and message) land there.
const levelTrace = slog.LevelDebug - 4

// gobgpHandler passes GoBGP's logs to the user's handler one level lower:
// GoBGP's Info is chatty (every peer configuration and state change), so it
// becomes Debug, and GoBGP's Debug becomes levelTrace. Warnings and errors
// keep their level.
type gobgpHandler struct{ h slog.Handler }

func newGoBGPLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(gobgpHandler{l.Handler()}).With("component", "gobgp")
}

func lower(l slog.Level) slog.Level {
	switch {
	case l >= slog.LevelWarn:
		return l
	case l >= slog.LevelInfo:
		return slog.LevelDebug
	}
	return levelTrace
}

func (g gobgpHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return g.h.Enabled(ctx, lower(l))
}

func (g gobgpHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = lower(r.Level)
	return g.h.Handle(ctx, r)
}

func (g gobgpHandler) WithAttrs(as []slog.Attr) slog.Handler { return gobgpHandler{g.h.WithAttrs(as)} }
func (g gobgpHandler) WithGroup(name string) slog.Handler    { return gobgpHandler{g.h.WithGroup(name)} }
