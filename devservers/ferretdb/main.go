// Command ferretdb runs an embedded FerretDB v1 with the SQLite handler.
//
// It exists because `go install` of FerretDB's own command panics without
// the generated version files; the embeddable package does not need them.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with -pprof-addr, for profiling FerretDB under a benchmark
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "data", "directory for SQLite database files")
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn, error")
	pprofAddr := flag.String("pprof-addr", "", "if set, serve Go's net/http/pprof on this TCP address")
	// SQLite's default (FULL) syncs the WAL to disk on every commit, and commits are serialised: the write rate
	// was the disk's sync rate. NORMAL syncs at checkpoints; a process that dies loses nothing (the writes are in
	// the OS), only a power cut may lose the last commits. Fine for a dev and test server; production is MongoDB.
	synchronous := flag.String("sqlite-synchronous", "normal", "SQLite synchronous pragma: normal or full")
	// FerretDB allocates much per command (it decodes each document's JSON) over a small live heap, so Go's
	// collector ran often (gcBgMarkWorker and sweeping ~13 % of its CPU under the approvals bench): collecting at
	// 4x the live heap instead of 2x took 10-15 % off its CPU per by-_id command and ~27 % per scan, for ~12 MB
	// more resident. GOGC in the environment wins.
	gcPercent := flag.Int("gc-percent", 400, "Go GC target percentage (GOGC), unless GOGC is set")
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(*gcPercent)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "bad -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(&lazyHandler{inner: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})})
	slog.SetDefault(logger)

	if err := os.MkdirAll(*sqliteDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "cannot create sqlite dir: %v\n", err)
		os.Exit(1)
	}

	dir := *sqliteDir
	if dir[len(dir)-1] != '/' {
		dir += "/"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "?_pragma=synchronous(" + *synchronous + ")",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}

	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(*pprofAddr, nil)) }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb listening on %s (sqlite %s)\n", *listenAddr, dir)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

// lazyHandler defers a logger's With and WithGroup until a record is written. FerretDB's SQL layer calls
// `logger.With(fields...).DebugContext(...)` for every statement; slog's text handler formats With's attributes at
// once, so that cost (2-3 % of FerretDB's CPU under the approvals bench) was paid for debug lines never written.
type lazyHandler struct {
	inner slog.Handler
	steps []func(slog.Handler) slog.Handler // With and WithGroup calls, in order
}

func (h *lazyHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *lazyHandler) Handle(ctx context.Context, record slog.Record) error {
	inner := h.inner
	for _, step := range h.steps {
		inner = step(inner)
	}
	return inner.Handle(ctx, record)
}

func (h *lazyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.then(func(inner slog.Handler) slog.Handler { return inner.WithAttrs(attrs) })
}

func (h *lazyHandler) WithGroup(name string) slog.Handler {
	return h.then(func(inner slog.Handler) slog.Handler { return inner.WithGroup(name) })
}

func (h *lazyHandler) then(step func(slog.Handler) slog.Handler) slog.Handler {
	steps := make([]func(slog.Handler) slog.Handler, len(h.steps), len(h.steps)+1)
	copy(steps, h.steps)
	return &lazyHandler{inner: h.inner, steps: append(steps, step)}
}
