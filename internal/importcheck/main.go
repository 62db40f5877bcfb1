// Command importcheck enforces the import rules of DESIGN.md ("Import
// rules"): leaf packages stay leaves, the libraries (auth, inference,
// providers, policies, store, mcp, a2a) never import the router nor each
// other, providers never import each other, nothing imports cmd or k8s,
// fasthttp stays in the data plane and Kubernetes libraries in the control
// plane. The rules are the table in rules.go; packages that do not exist yet
// are covered by them as soon as they appear.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
)

func main() {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "importcheck: go list:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "importcheck: go list:", err)
		os.Exit(2)
	}
	dec := json.NewDecoder(out)
	var bad []violation
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
	if err := cmd.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "importcheck: go list:", err)
		os.Exit(2)
	}
	if len(bad) > 0 {
		for _, v := range bad {
			fmt.Println(v)
		}
		os.Exit(1)
	}
	fmt.Println("importcheck: import rules hold")
}
