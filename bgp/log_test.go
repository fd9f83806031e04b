package bgp_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lbkit/lbkit/bgp"
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

func TestGoBGPLogger(t *testing.T) {
	var recs []slog.Record
	l := bgp.NewGoBGPLogger(slog.New(recordHandler{level: slog.LevelDebug, mu: &sync.Mutex{}, recs: &recs}))
	ctx := context.Background()
	assert.True(t, l.Enabled(ctx, slog.LevelInfo), "GoBGP info is our debug")
	assert.False(t, l.Enabled(ctx, slog.LevelDebug), "GoBGP debug is below our debug")

	l.Error("e", "Key", "10.0.0.1")
	l.Warn("w")
	l.Info("i")
	l.Debug("d") // below the handler's level
	require.Len(t, recs, 3)
	levels := []slog.Level{slog.LevelError, slog.LevelWarn, slog.LevelDebug}
	for i, r := range recs {
		assert.Equal(t, levels[i], r.Level, r.Message)
	}

	trace := bgp.NewGoBGPLogger(slog.New(recordHandler{level: bgp.LevelTrace, mu: &sync.Mutex{}, recs: &recs}))
	assert.True(t, trace.Enabled(ctx, slog.LevelDebug))
	assert.False(t, bgp.NewGoBGPLogger(nil).Enabled(ctx, slog.LevelError), "nil logger discards")
}
