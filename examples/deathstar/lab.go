package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

func isLabNode() bool  { return false }
func labNodeMain() int { return 1 }

func RunLab(ctx context.Context, w io.Writer, dir string, log *slog.Logger) error {
	return errors.New("not yet")
}
