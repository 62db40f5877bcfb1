package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Load reads path, substitutes ${VAR} / ${VAR:-default} from the environment, parses
// YAML (unknown fields are errors), applies defaults, validates and compiles. Fatal
// problems are returned as Errors, all of them, not only the first.
func Load(path string) (*Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said once, first, like every other configuration error
		}
		return nil, fmt.Errorf("%s: cannot read the configuration file: %w", path, err)
	}
	return loadBytes(path, data, os.LookupEnv, filepath.Dir(path))
}

// LoadBytes is Load on bytes already read; name is used in messages; lookup is
// os.LookupEnv in production (nil means an empty environment).
func LoadBytes(name string, data []byte, lookup func(string) (string, bool)) (*Snapshot, error) {
	return loadBytes(name, data, lookup, "")
}

// loadBytes loads with relative file paths in the configuration (certificates,
// key files, CA bundles, credentials files) resolved against baseDir when set.
func loadBytes(name string, data []byte, lookup func(string) (string, bool), baseDir string) (*Snapshot, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	src, errs := substitute(name, data, lookup)
	if len(errs) > 0 {
		return nil, errs
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src.data, &doc); err != nil {
		return nil, Errors{syntaxError(name, src, err)}
	}
	if isEmpty(&doc) {
		return nil, Errors{{File: name, Msg: "configuration is empty"}}
	}
	pos := newPositions(&doc, src)
	cfg, errs := decode(name, src, pos)
	if len(errs) > 0 {
		return nil, errs
	}
	// File paths are not secrets: errors may name them even when they came
	// from the environment.
	filePaths(cfg, func(p *string) { src.keep(*p) })
	if baseDir != "" {
		resolvePaths(cfg, baseDir)
	}
	return compile(name, cfg, pos)
}

// isEmpty reports a document with no content (only comments, or null).
func isEmpty(doc *yaml.Node) bool {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// decode decodes the substituted text strictly: unknown fields and wrong types are errors.
func decode(name string, src *substituted, pos *positions) (*Config, Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(src.data))
	dec.KnownFields(true)
	var cfg Config
	err := dec.Decode(&cfg)
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		errs := make(Errors, 0, len(te.Errors))
		for _, m := range te.Errors {
			errs = append(errs, pos.translate(name, m))
		}
		sortErrors(errs)
		return nil, errs
	case err != nil:
		return nil, Errors{syntaxError(name, src, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = src.line(extra.Line)
		}
		return nil, Errors{{File: name, Line: line, Msg: "only one YAML document is supported (found a \"---\" separator)"}}
	}
	return &cfg, nil
}

// resolvePaths makes the configuration's relative file paths relative to dir,
// the directory of the configuration file, so that a file works from any
// working directory.
func resolvePaths(cfg *Config, dir string) {
	filePaths(cfg, func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	})
}

// Files returns the file paths the configuration names (certificates and
// keys, CA bundles, API key files, credentials files), empty ones left out.
func (c *Config) Files() []string {
	var out []string
	filePaths(c, func(p *string) {
		if *p != "" {
			out = append(out, *p)
		}
	})
	return out
}

// filePaths calls fn with every file path field of cfg (certificates, key
// files, CA bundles, credentials files).
func filePaths(cfg *Config, fn func(*string)) {
	for i := range cfg.Listeners {
		if t := cfg.Listeners[i].TLS; t != nil {
			for j := range t.Certificates {
				fn(&t.Certificates[j].CertFile)
				fn(&t.Certificates[j].KeyFile)
			}
		}
	}
	for i := range cfg.Backends {
		b := &cfg.Backends[i]
		if b.Static != nil && b.Static.TLS != nil {
			fn(&b.Static.TLS.CAFile)
		}
		if ip := b.InferencePool; ip != nil && ip.EndpointPicker != nil && ip.EndpointPicker.TLS != nil {
			fn(&ip.EndpointPicker.TLS.CAFile)
		}
		if b.AI != nil {
			if b.AI.TLS != nil {
				fn(&b.AI.TLS.CAFile)
			}
			fn(&b.AI.Auth.APIKeyFile)
			if b.AI.Auth.GCP != nil {
				fn(&b.AI.Auth.GCP.CredentialsFile)
			}
		}
	}
}
