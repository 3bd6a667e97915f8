package main

import (
	"io"
	"log/slog"
)

// newLogger returns the greeter's logger: JSON lines that Cloud Logging
// understands (severity, message) on Google Cloud, text elsewhere.
func newLogger(w io.Writer, onCloud bool) *slog.Logger {
	if !onCloud {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: cloudLogging}))
}

// cloudLogging renames slog's level and msg to Cloud Logging's severity and
// message, with its names of the levels.
func cloudLogging(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		level, _ := a.Value.Any().(slog.Level)
		return slog.String("severity", severity(level))
	case slog.MessageKey:
		a.Key = "message"
	}
	return a
}

func severity(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}
