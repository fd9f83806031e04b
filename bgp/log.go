package bgp

import (
	"context"
	"log/slog"
	"maps"
	"slices"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// levelTrace is below slog.LevelDebug: GoBGP's debug messages (one per
// route and message) land there.
const levelTrace = slog.LevelDebug - 4

// slogLogger routes GoBGP's logs into a slog.Logger. GoBGP's Info is
// chatty (every peer configuration and state change), so it becomes Debug;
// GoBGP's Debug becomes levelTrace. GoBGP's Fatal and Panic are logged as
// errors and do not exit or panic: an embedded library must not kill its
// host.
type slogLogger struct {
	l *slog.Logger
}

func newSlogLogger(l *slog.Logger) *slogLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &slogLogger{l: l.With("component", "gobgp")}
}

func (g *slogLogger) log(level slog.Level, msg string, fields gobgplog.Fields) {
	ctx := context.Background()
	if !g.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(fields))
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if k == gobgplog.FieldFacility {
			continue
		}
		attrs = append(attrs, slog.Any(k, fields[k]))
	}
	g.l.LogAttrs(ctx, level, msg, attrs...)
}

func (g *slogLogger) Panic(msg string, f gobgplog.Fields) { g.log(slog.LevelError, msg, f) }
func (g *slogLogger) Fatal(msg string, f gobgplog.Fields) { g.log(slog.LevelError, msg, f) }
func (g *slogLogger) Error(msg string, f gobgplog.Fields) { g.log(slog.LevelError, msg, f) }
func (g *slogLogger) Warn(msg string, f gobgplog.Fields) {
	level := slog.LevelWarn
	if routine[msg] {
		level = slog.LevelDebug
	}
	g.log(level, msg, f)
}

// routine lists GoBGP warnings that are business as usual for a speaker
// and come once per route: a router withdrawing one of our own routes that
// it had reflected back (GoBGP dropped it as an AS-path loop, so it finds
// nothing to withdraw).
var routine = map[string]bool{
	"No matching path for withdraw found, may be path was not installed into table": true,
}

func (g *slogLogger) Info(msg string, f gobgplog.Fields)  { g.log(slog.LevelDebug, msg, f) }
func (g *slogLogger) Debug(msg string, f gobgplog.Fields) { g.log(levelTrace, msg, f) }

// SetLevel is ignored: the slog.Logger's handler decides.
func (g *slogLogger) SetLevel(gobgplog.LogLevel) {}

// GetLevel reports the most verbose GoBGP level the handler would keep;
// GoBGP checks it before building expensive debug messages.
func (g *slogLogger) GetLevel() gobgplog.LogLevel {
	ctx := context.Background()
	switch {
	case g.l.Enabled(ctx, levelTrace):
		return gobgplog.DebugLevel
	case g.l.Enabled(ctx, slog.LevelDebug):
		return gobgplog.InfoLevel
	case g.l.Enabled(ctx, slog.LevelWarn):
		return gobgplog.WarnLevel
	}
	return gobgplog.ErrorLevel
}
