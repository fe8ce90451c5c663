// Command dupkinds sorts the pairs that `duplicates` lists by what they
// share, for docs/CONTRIBUTING.md ("Repeated shapes"):
//
//   - import: both sides are Go import blocks (two files that import the
//     same six packages);
//   - declaration: both sides are Go const, var or type declarations, with
//     their comments (a list of sentinel errors, enum constants or struct
//     fields reads like another such list to the tool: distinct
//     declarations, no logic);
//   - code: everything else, and every pair that shares more than one run.
//
// It prints a count per kind and, with -v, the rows of each kind.
//
//	duplicates --most 200 --seconds 300 | go run ./scripts/dupkinds -v
package main

import (
	"bufio"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
)

var row = regexp.MustCompile(`^D\d+ (\S+):(\d+)-(\d+) ~ (\S+):(\d+)-(\d+)(.*)$`)

// Marks of lineMarks.
const (
	other   = 0
	imports = 'i' // an import declaration or the package clause
	decl    = 'd' // a const, var or type declaration
	comment = 'c' // a comment or a blank line
)

// lineMarks marks each line of a Go file (index = line number).
func lineMarks(file string) []byte {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil
	}
	lines := strings.Split(string(src), "\n")
	marks := make([]byte, len(lines)+2)
	for i, l := range lines {
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "//") {
			marks[i+1] = comment
		}
	}
	marks[fset.Position(f.Package).Line] = imports
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		m := byte(decl)
		if gd.Tok == token.IMPORT {
			m = imports
		}
		for l := fset.Position(gd.Pos()).Line; l <= fset.Position(gd.End()).Line; l++ {
			if marks[l] != comment {
				marks[l] = m
			}
		}
	}
	return marks
}

func main() {
	verbose := flag.Bool("v", false, "list the rows of each kind")
	flag.Parse()
	files := map[string][]byte{}
	kindOf := func(file string, from, to int) string {
		marks, ok := files[file]
		if !ok && strings.HasSuffix(file, ".go") {
			marks = lineMarks(file)
			files[file] = marks
		}
		if to >= len(marks) {
			return "code"
		}
		seen := map[byte]bool{}
		for l := from; l <= to; l++ {
			seen[marks[l]] = true
		}
		switch {
		case seen[other]:
			return "code"
		case seen[decl]:
			return "declaration"
		}
		return "import"
	}
	rows := map[string][]string{}
	total := 0
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		total++
		n := func(s string) int { v, _ := strconv.Atoi(s); return v }
		kind := "code"
		if !strings.Contains(m[7], "more run") {
			a, b := kindOf(m[1], n(m[2]), n(m[3])), kindOf(m[4], n(m[5]), n(m[6]))
			switch {
			case a == b:
				kind = a
			case a != "code" && b != "code":
				kind = "declaration"
			}
		}
		rows[kind] = append(rows[kind], sc.Text())
	}
	fmt.Printf("%d pairs: %d import blocks, %d declarations, %d code\n", total, len(rows["import"]), len(rows["declaration"]), len(rows["code"]))
	if *verbose {
		for _, k := range []string{"import", "declaration", "code"} {
			fmt.Printf("\n%s:\n%s\n", k, strings.Join(rows[k], "\n"))
		}
	}
}
