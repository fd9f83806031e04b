package bgp

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordHandler keeps the records at or above level.
type recordHandler struct {
	level slog.Level
	mu    *sync.Mutex
	recs  *[]slog.Record
}

func (h recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, r)
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

func TestSlogLogger(t *testing.T) {
	var recs []slog.Record
	h := recordHandler{level: slog.LevelDebug, mu: &sync.Mutex{}, recs: &recs}
	l := newSlogLogger(slog.New(h))
	assert.Equal(t, gobgplog.InfoLevel, l.GetLevel(), "debug enabled: GoBGP info, not its debug")

	l.Error("e", gobgplog.Fields{"Key": "10.0.0.1", "Topic": "Peer", gobgplog.FieldFacility: "x"})
	l.Warn("w", nil)
	l.Warn("No matching path for withdraw found, may be path was not installed into table", nil)
	l.Info("i", nil)
	l.Debug("d", nil) // below the handler's level
	l.Fatal("f", nil) // must not exit
	l.Panic("p", nil) // must not panic
	require.Len(t, recs, 6)
	levels := []slog.Level{slog.LevelError, slog.LevelWarn, slog.LevelDebug, slog.LevelDebug, slog.LevelError, slog.LevelError}
	for i, r := range recs {
		assert.Equal(t, levels[i], r.Level, r.Message)
	}
	var keys []string
	recs[0].Attrs(func(a slog.Attr) bool { keys = append(keys, a.Key); return true })
	assert.Equal(t, []string{"Key", "Topic"}, keys, "sorted fields, facility dropped")

	quiet := newSlogLogger(slog.New(recordHandler{level: slog.LevelError, mu: &sync.Mutex{}, recs: &recs}))
	assert.Equal(t, gobgplog.ErrorLevel, quiet.GetLevel())
	trace := newSlogLogger(slog.New(recordHandler{level: levelTrace, mu: &sync.Mutex{}, recs: &recs}))
	assert.Equal(t, gobgplog.DebugLevel, trace.GetLevel())
	assert.Equal(t, gobgplog.ErrorLevel, newSlogLogger(nil).GetLevel(), "nil logger discards")
}
