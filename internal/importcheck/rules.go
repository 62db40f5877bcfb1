package main

import (
	"fmt"
	"strings"
)

// module is the module whose packages the rules name by relative path.
const module = "github.com/switchyard-ai/switchyard"

// pkg is what the checker needs of a package (as go list -json prints it).
type pkg struct {
	ImportPath   string
	Imports      []string // of its non-test files: every rule applies
	TestImports  []string // of its _test files in the package
	XTestImports []string // of its external _test package
}

// dep is one side of an import: a package path, module-relative for the
// module's own packages ("router/ai"), full for the others.
type dep struct {
	path string
	own  bool // in the module
	std  bool // in the standard library
}

func depOf(importPath string) dep {
	if importPath == module {
		return dep{path: "", own: true}
	}
	if rel, ok := strings.CutPrefix(importPath, module+"/"); ok {
		return dep{path: rel, own: true}
	}
	first, _, _ := strings.Cut(importPath, "/")
	return dep{path: importPath, std: !strings.Contains(first, ".")}
}

// match is a set of packages.
type match func(d dep) bool

// under matches the module's packages at or below any of dirs.
func under(dirs ...string) match {
	return func(d dep) bool {
		if !d.own {
			return false
		}
		for _, dir := range dirs {
			if d.path == dir || strings.HasPrefix(d.path, dir+"/") {
				return true
			}
		}
		return false
	}
}

// external matches the packages outside the module at or below any of roots
// ("k8s.io/" matches every path starting with it; "a/b" matches a/b and a/b/...).
func external(roots ...string) match {
	return func(d dep) bool {
		if d.own {
			return false
		}
		for _, r := range roots {
			if strings.HasSuffix(r, "/") && strings.HasPrefix(d.path, r) ||
				d.path == r || strings.HasPrefix(d.path, r+"/") {
				return true
			}
		}
		return false
	}
}

func anyOf(ms ...match) match {
	return func(d dep) bool {
		for _, m := range ms {
			if m(d) {
				return true
			}
		}
		return false
	}
}

func not(m match) match { return func(d dep) bool { return !m(d) } }

func everything(dep) bool { return true }

func stdlib(d dep) bool { return d.std }

// rule forbids the packages From to import the packages To, except the
// pairs Unless allows. A rule checks a package's non-test imports; with
// Tests it checks its test files' imports too.
type rule struct {
	Name   string // short and stable: tests and messages name a rule by it
	Why    string // the rule in DESIGN.md's words
	From   match
	To     match
	Unless func(from, to dep) bool // nil: no exception
	Tests  bool
}

// Package groups of DESIGN.md.
var (
	// leaves import the standard library and a YAML library only.
	leaves = under("config", "providers/schema")
	// libraries are composed by the router; each group (the first path
	// element, the providers/ tree as one) keeps to itself.
	libraries = under("auth", "inference", "providers", "policies", "store", "mcp", "a2a")
	// providerShared are the packages under providers/ that are not
	// providers: the Adapter interfaces, the common schema and frame and
	// token helpers, which every provider may import.
	providerShared = anyOf(under("providers/schema", "providers/sse", "providers/tokens", "providers/eventstream"),
		func(d dep) bool { return d.own && d.path == "providers" })
	// providerRegistry composes every adapter, and may import them all.
	providerRegistry = under("providers/registry")
	// provider matches the provider packages: every package under providers/
	// but the shared ones (the registry included: no provider imports it).
	provider = func(d dep) bool { return under("providers")(d) && d.path != "providers" && !providerShared(d) }
	fasthttp = external("github.com/valyala/fasthttp")
	kube     = external("k8s.io/", "sigs.k8s.io/")
)

// rules are DESIGN.md's import rules.
var rules = []rule{{
	Name:   "leaf",
	Why:    "config and providers/schema are leaves: standard library and a YAML library only",
	From:   leaves,
	To:     not(anyOf(stdlib, external("go.yaml.in/yaml/v3"))),
	Unless: sameTree("config", "providers/schema"),
}, {
	Name: "no-router",
	Why:  "only the router itself, cmd, loadtest and end-to-end tests import router; libraries never do",
	From: not(under("router", "cmd", "loadtest", "test")),
	To:   under("router"),
}, {
	Name:   "libraries-apart",
	Why:    "auth, inference, providers, policies, store, mcp and a2a never import each other (policies may use store and auth's Principal)",
	From:   libraries,
	To:     libraries,
	Unless: allowed(sameGroup, pair("policies", "store"), pair("policies", "auth"), toLeaf),
}, {
	Name:   "providers-apart",
	Why:    "a provider package never imports another provider, except openai types reused by local servers; the registry composes them all",
	From:   under("providers"),
	To:     provider,
	Unless: allowed(sameProvider, providerToOpenAI, fromRegistry),
}, {
	Name:  "no-cmd",
	Why:   "nothing imports cmd",
	From:  everything,
	To:    under("cmd"),
	Tests: true,
}, {
	Name:  "no-k8s",
	Why:   "nothing imports k8s (but k8s itself, and cmd which wires the controller)",
	From:  not(under("k8s", "cmd")),
	To:    under("k8s"),
	Tests: true,
}, {
	Name: "fasthttp",
	Why:  "fasthttp appears only in router, mcp/a2a server glue, loadtest, the fakes and tests",
	From: not(under("router", "mcp", "a2a", "loadtest", "internal/fakes", "test")),
	To:   fasthttp,
}, {
	Name: "l4",
	Why:  "router/l4 is bytes in, bytes out: no HTTP library (net/http, fasthttp, x/net), no router package but router/upstream",
	From: under("router/l4"),
	To: anyOf(fasthttp, external("golang.org/x/net"), func(d dep) bool { return d.std && strings.HasPrefix(d.path+"/", "net/http/") },
		func(d dep) bool {
			return under("router")(d) && !under("router/upstream", "router/l4", "router/dialer")(d)
		}),
}, {
	Name: "h2",
	Why:  "router/h2 is the net/http path: never fasthttp, never the fasthttp-based router packages (engine, route, ai) nor the router itself",
	From: under("router/h2"),
	To:   anyOf(fasthttp, under("router/engine", "router/route", "router/ai", "router/l4"), func(d dep) bool { return d.own && d.path == "router" }),
}, {
	Name: "kubernetes",
	Why:  "Kubernetes libraries appear only in k8s and cmd",
	From: not(under("k8s", "cmd")),
	To:   kube,
}}

// allowed is the union of exceptions.
func allowed(fs ...func(from, to dep) bool) func(from, to dep) bool {
	return func(from, to dep) bool {
		for _, f := range fs {
			if f(from, to) {
				return true
			}
		}
		return false
	}
}

// pair allows the packages under from to import the packages under to.
func pair(from, to string) func(dep, dep) bool {
	f, t := under(from), under(to)
	return func(a, b dep) bool { return f(a) && t(b) }
}

// sameTree allows a package under one of roots to import the packages under
// the same root.
func sameTree(roots ...string) func(dep, dep) bool {
	return func(a, b dep) bool {
		for _, r := range roots {
			if under(r)(a) && under(r)(b) {
				return true
			}
		}
		return false
	}
}

// toLeaf allows importing a leaf.
func toLeaf(_, to dep) bool { return leaves(to) }

// group is a library's group: its first path element.
func group(d dep) string {
	g, _, _ := strings.Cut(d.path, "/")
	return g
}

func sameGroup(a, b dep) bool { return group(a) == group(b) }

// providerName is the provider a package under providers/ belongs to
// (providers/bedrock/x: "bedrock").
func providerName(d dep) string {
	rest, _ := strings.CutPrefix(d.path, "providers/")
	name, _, _ := strings.Cut(rest, "/")
	return name
}

func sameProvider(a, b dep) bool { return provider(a) && providerName(a) == providerName(b) }

func providerToOpenAI(a, b dep) bool { return provider(a) && under("providers/openai")(b) }

func fromRegistry(a, _ dep) bool { return providerRegistry(a) }

// violation is one import a rule forbids.
type violation struct {
	Pkg, Import string // module-relative where in the module
	Rule        string
	Test        bool // the import is in a test file
	Why         string
}

func (v violation) String() string {
	where := v.Pkg
	if v.Test {
		where += " (tests)"
	}
	return fmt.Sprintf("%s: imports %s: %s [%s]", where, v.Import, v.Why, v.Rule)
}

// check returns the violations of the rules by one package.
func check(p pkg) []violation {
	from := depOf(p.ImportPath)
	var bad []violation
	each := func(imports []string, test bool) {
		for _, imp := range imports {
			to := depOf(imp)
			if to.own && to.path == from.path {
				continue // an external test package importing its own package
			}
			for _, r := range rules {
				if test && !r.Tests || !r.From(from) || !r.To(to) || r.Unless != nil && r.Unless(from, to) {
					continue
				}
				bad = append(bad, violation{Pkg: from.path, Import: to.path, Rule: r.Name, Test: test, Why: r.Why})
			}
		}
	}
	each(p.Imports, false)
	each(p.TestImports, true)
	each(p.XTestImports, true)
	return bad
}
