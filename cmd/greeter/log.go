package main

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// newLogger returns the greeter's logger: JSON lines that Cloud Logging
// understands (severity, message) on Google Cloud, text elsewhere. On Google
// Cloud with a project, a record logged with the context of a traced
// request also names its trace and span, in project's Cloud Trace, so that
// Cloud Logging groups the request's lines and links them to the trace.
func newLogger(w io.Writer, onCloud bool, project string) *slog.Logger {
	if !onCloud {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	var h slog.Handler = slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: cloudLogging})
	if project != "" {
		h = &traceHandler{base: h, project: project}
	}
	return slog.New(h)
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

// The fields of a structured log line that Cloud Logging moves into the
// LogEntry's trace, spanId and traceSampled.
const (
	traceKey   = "logging.googleapis.com/trace"
	spanIDKey  = "logging.googleapis.com/spanId"
	sampledKey = "logging.googleapis.com/trace_sampled"
)

// traceHandler adds Cloud Logging's trace fields to the records logged with
// a context that holds a span context (the server span that otelhttp starts
// for each request, or the one of its traceparent header), at the top level
// of the line, where Cloud Logging looks for them, whatever groups the
// logger has opened.
type traceHandler struct {
	base    slog.Handler // writes the records, with the attributes given outside any group
	project string       // the Google Cloud project whose Cloud Trace holds the traces
	groups  []logGroup   // the groups opened by WithGroup, outermost first
}

// logGroup is a group that a traceHandler opened, with the attributes given
// in it.
type logGroup struct {
	name  string
	attrs []slog.Attr
}

func (h *traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.base.Enabled(ctx, l)
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() && len(h.groups) == 0 {
		return h.base.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if sc.IsValid() {
		out.AddAttrs(
			slog.String(traceKey, "projects/"+h.project+"/traces/"+sc.TraceID().String()),
			slog.String(spanIDKey, sc.SpanID().String()),
			slog.Bool(sampledKey, sc.IsSampled()))
	}
	attrs := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	// The record's attributes go inside the groups opened, innermost first.
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		attrs = []slog.Attr{{Key: g.name, Value: slog.GroupValue(append(g.attrs[:len(g.attrs):len(g.attrs)], attrs...)...)}}
	}
	out.AddAttrs(attrs...)
	return h.base.Handle(ctx, out)
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if len(h.groups) == 0 {
		return &traceHandler{base: h.base.WithAttrs(attrs), project: h.project}
	}
	groups := append([]logGroup(nil), h.groups...)
	last := &groups[len(groups)-1]
	last.attrs = append(last.attrs[:len(last.attrs):len(last.attrs)], attrs...)
	return &traceHandler{base: h.base, project: h.project, groups: groups}
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	groups := append(h.groups[:len(h.groups):len(h.groups)], logGroup{name: name})
	return &traceHandler{base: h.base, project: h.project, groups: groups}
}
