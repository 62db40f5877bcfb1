// Command importcheck enforces the import rules of DESIGN.md: leaf packages stay
// leaves, libraries never import the router, providers never import each other,
// fasthttp stays in the data plane, and nothing imports cmd or k8s.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

const module = "github.com/switchyard-ai/switchyard"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func main() {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "importcheck: go list:", err)
		os.Exit(2)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var bad []string
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, "importcheck: decode:", err)
			os.Exit(2)
		}
		bad = append(bad, check(p)...)
	}
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Println(b)
		}
		os.Exit(1)
	}
	fmt.Println("importcheck: import rules hold")
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// check returns the violations of one package.
func check(p pkg) []string {
	self := rel(p.ImportPath)
	var bad []string
	for _, imp := range p.Imports {
		internal := strings.HasPrefix(imp, module)
		dep := rel(imp)
		stdlib := !strings.Contains(strings.Split(imp, "/")[0], ".")
		switch {
		case (self == "config" || self == "providers/schema") && !stdlib && imp != "go.yaml.in/yaml/v3":
			bad = append(bad, fmt.Sprintf("%s: leaf package imports %s", self, imp))
		case internal && (under(dep, "cmd") || under(dep, "k8s")) && !under(self, "cmd"):
			bad = append(bad, fmt.Sprintf("%s: imports %s (nothing imports cmd or k8s)", self, dep))
		case internal && under(dep, "router") && !under(self, "router") && !under(self, "cmd") && !under(self, "loadtest") && !strings.HasPrefix(self, "test"):
			bad = append(bad, fmt.Sprintf("%s: imports %s (only cmd composes the router)", self, dep))
		case internal && under(self, "providers") && under(dep, "providers") && providerOf(self) != "" && providerOf(dep) != "" &&
			providerOf(self) != providerOf(dep) && providerOf(dep) != "openai":
			bad = append(bad, fmt.Sprintf("%s: imports another provider %s", self, dep))
		case strings.HasPrefix(imp, "github.com/valyala/fasthttp") && !under(self, "router") && !under(self, "loadtest") &&
			!under(self, "mcp") && !under(self, "a2a"):
			bad = append(bad, fmt.Sprintf("%s: imports fasthttp (only router, mcp/a2a glue and loadtest may)", self))
		case (strings.HasPrefix(imp, "k8s.io/") || strings.HasPrefix(imp, "sigs.k8s.io/")) && !under(self, "k8s") && !under(self, "cmd"):
			bad = append(bad, fmt.Sprintf("%s: imports Kubernetes library %s", self, imp))
		}
	}
	return bad
}

// providerOf names the provider package a path belongs to ("" for shared ones).
func providerOf(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || parts[0] != "providers" {
		return ""
	}
	switch parts[1] {
	case "schema", "sse", "tokens", "eventstream", "registry":
		return ""
	}
	return parts[1]
}
