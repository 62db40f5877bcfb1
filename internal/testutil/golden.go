package testutil

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// update is the -update flag of every test binary that imports testutil: with
// it, [Golden] rewrites the golden files instead of comparing with them. A
// test package that imports testutil must not declare its own -update flag.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// ReadFile returns the content of the file at path, failing the test when it
// cannot be read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

// Golden compares got, a JSON document, with the golden file at path. got is
// normalized first: indented by two spaces (key order kept) and ended with a
// newline. Under -update the file is written instead of compared.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", path, err, got)
	}
	buf.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from golden (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, buf.Bytes(), want)
	}
}

// StreamFunc is the Stream method of a translator (providers.Translator).
type StreamFunc func(src io.Reader, emit func(event []byte) error) (schema.Usage, error)

// StreamEvents runs stream over src and returns every emitted event (each
// copied, as the emitter may reuse its buffer) and the usage. It fails the test
// when stream returns an error.
func StreamEvents(t testing.TB, stream StreamFunc, src io.Reader) ([]json.RawMessage, schema.Usage) {
	t.Helper()
	var events []json.RawMessage
	u, err := stream(src, func(ev []byte) error {
		events = append(events, bytes.Clone(ev))
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return events, u
}

// GoldenText compares got, a text document (YAML, say), byte for byte with
// the golden file at path, printing the differing lines. Under -update the
// file (and its directory) is written instead.
func GoldenText(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	t.Errorf("%s differs from golden (run go test -update and review the diff):\n%s", path, b.String())
}
