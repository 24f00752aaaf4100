// Command gen_re2_cases writes re2_cases.txt: random regular expressions in
// the RE2 syntax docs/TRACEQL.md says meanwhiled supports, each with short
// subjects and whether Go's regexp (RE2 semantics, anchored and with . matching
// a newline, as Tempo's are) matches them. tests/unit/test_traceql.c checks
// meanwhiled's verdicts against these. Regenerate with
//
//	go run gen_re2_cases.go > re2_cases.txt
//
// Format, one per line, strings in hex: "R <regex>" then its "S <subject> <0|1>".
package main

import (
	"encoding/hex"
	"fmt"
	"math/rand"
	"regexp"
	"strings"
)

var r = rand.New(rand.NewSource(16))

var atoms = []string{"a", "b", "c", "-", " ", ".", ".", "[ab]", "[^a]", "[a-c]", "[-a]", "[]a]", "[^^]", `\d`, `\w`,
	`\s`, `\D`, `\W`, `\S`, "[[:alpha:]]", "[[:digit:]_]", "[[:space:]]", `[\d.]`, `\.`, `\-`, `\{`, "{", "1", `\n`, "_", "é", "日", "😀"}

func gen(depth int) string {
	var sb strings.Builder
	n := 1 + r.Intn(3)
	for i := 0; i < n; i++ {
		if depth < 3 && r.Intn(4) == 0 {
			alts := 1 + r.Intn(3)
			parts := make([]string, alts)
			for k := range parts {
				if r.Intn(6) == 0 {
					parts[k] = ""
				} else {
					parts[k] = gen(depth + 1)
				}
			}
			sb.WriteString("(" + strings.Join(parts, "|") + ")")
		} else {
			sb.WriteString(atoms[r.Intn(len(atoms))])
		}
		switch r.Intn(8) {
		case 0:
			sb.WriteString("*")
		case 1:
			sb.WriteString("+")
		case 2:
			sb.WriteString("?")
		case 3:
			lo := r.Intn(3)
			switch r.Intn(3) {
			case 0:
				fmt.Fprintf(&sb, "{%d}", lo)
			case 1:
				fmt.Fprintf(&sb, "{%d,}", lo)
			default:
				fmt.Fprintf(&sb, "{%d,%d}", lo, lo+r.Intn(3))
			}
		}
	}
	return sb.String()
}

var alphabet = []string{"a", "b", "c", "1", "-", ".", " ", "\n", "{", "_", "é", "日", "😀"}

func subject() string {
	n := r.Intn(7)
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteString(alphabet[r.Intn(len(alphabet))])
	}
	return sb.String()
}

func main() {
	for i := 0; i < 250; i++ {
		re := gen(0)
		if r.Intn(10) == 0 {
			re = "^" + re
		}
		if r.Intn(10) == 0 {
			re = re + "$"
		}
		if r.Intn(8) == 0 {
			re = re + "|" + gen(1)
		}
		if strings.Count(re, "{")-strings.Count(re, `\{`) > 3 {
			continue // keeps the product of counts within meanwhiled's bound
		}
		m := regexp.MustCompile(`^(?s:` + re + `)$`)
		fmt.Printf("R %s\n", hex.EncodeToString([]byte(re)))
		for k := 0; k < 12; k++ {
			s := subject()
			v := 0
			if m.MatchString(s) {
				v = 1
			}
			fmt.Printf("S %s %d\n", hex.EncodeToString([]byte(s)), v)
		}
	}
}
