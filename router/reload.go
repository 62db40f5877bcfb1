package router

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/switchyard-ai/switchyard/config"
)

// Watch reloads the configuration at path whenever it, or a certificate file it
// names, changes. A file that fails to load or apply is logged and counted; the
// running snapshot stays. Watch returns when ctx ends.
func (g *Gateway) Watch(ctx context.Context, path string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("router: watch %s: %w", path, err)
	}
	defer func() { _ = w.Close() }()
	watched := map[string]bool{}
	watchFiles := func() {
		files := append([]string{path}, referencedFiles(g.Snapshot())...)
		for _, f := range files {
			// Watch directories: editors and Kubernetes ConfigMaps replace files by rename.
			dir := filepath.Dir(f)
			if !watched[dir] {
				if err := w.Add(dir); err == nil {
					watched[dir] = true
				}
			}
		}
	}
	watchFiles()
	relevant := func(name string) bool {
		if filepath.Clean(name) == filepath.Clean(path) {
			return true
		}
		for _, f := range referencedFiles(g.Snapshot()) {
			if filepath.Clean(name) == filepath.Clean(f) {
				return true
			}
		}
		// ConfigMap-style symlink swaps touch "..data".
		return filepath.Base(name) == "..data"
	}
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if relevant(ev.Name) && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0 {
				debounce = time.After(150 * time.Millisecond)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			g.log.Warn("config watch error", "err", err)
		case <-debounce:
			debounce = nil
			g.reload(path)
			watchFiles()
		}
	}
}

func (g *Gateway) reload(path string) {
	snap, err := config.Load(path)
	if err != nil {
		g.ReloadFailed()
		g.log.Error("config reload failed; keeping the running configuration", "file", path, "err", err.Error())
		return
	}
	if err := g.Apply(snap); err != nil {
		g.log.Error("config reload failed; keeping the running configuration", "file", path, "err", err.Error())
		return
	}
	g.log.Info("config reloaded", "file", path, "routes", len(snap.Routes), "problems", len(snap.Problems))
	for _, p := range snap.Problems {
		g.log.Warn("route disabled", "problem", p.Error())
	}
}

// referencedFiles lists the files a snapshot reads besides the configuration
// itself: listener certificates and keys, backend CA bundles, API key files
// and GCP credentials files. A change to any of them reloads.
func referencedFiles(snap *config.Snapshot) []string {
	if snap == nil || snap.Config == nil {
		return nil
	}
	return snap.Config.Files()
}
