package advise

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// A fleet file's values of the wrong kind (`entries: many`, a list where
// sysctls want a mapping) are found here, on the parsed node tree, before
// the decoder sees them: the decoder's errors say "line 3: cannot
// unmarshal !!str `many` into int" and name neither the key nor the group,
// and it drops a null group or patch without a word. Each value is decoded
// on its own, with the decoder's own rules, into the type its key takes,
// so what passes here is exactly what the decoder then accepts.

// shapeProblem is one value of the wrong kind, at its line.
type shapeProblem struct {
	line int
	msg  string
}

// groupWants says, for each key of a group, what its value is in the
// words of docs/advise.md and a Go value of the type it decodes into.
var groupWants = map[string]struct {
	want string
	into func() any
}{
	"name":    {"text", func() any { return new(string) }},
	"profile": {"text (a kernel profile)", func() any { return new(string) }},
	"hz":      {"a whole number", func() any { return new(int) }},
	"share":   {"a number", func() any { return new(float64) }},
	"traffic": {"text (idle, vip or subnet)", func() any { return new(string) }},
	"entries": {"a whole number", func() any { return new(int) }},
	// patches and sysctls are checked item by item (checkGroup)
	"patches": {"a list of patch edits ([+name, -name])", nil},
	"sysctls": {"a mapping of sysctl names to values", nil},
}

// checkShapes lists every value of the parsed fleet file that is not of
// the kind its key takes, every key written twice in one mapping, every
// key that is not text, every merge key (<<) that does not merge mappings
// and every empty group or patch, sorted by line. Unknown keys were
// reported before (unknownKeys).
func checkShapes(doc *yaml.Node) []shapeProblem {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	var ps []shapeProblem
	add := func(n *yaml.Node, format string, args ...any) {
		ps = append(ps, shapeProblem{n.Line, fmt.Sprintf(format, args...)})
	}
	root := deref(doc.Content[0])
	switch {
	case isNull(root):
		return nil // no groups, said after decoding
	case root.Kind != yaml.MappingNode:
		add(root, "%s is not a mapping (groups: [...])", valueWords(root))
		return ps
	}
	var groups []*yaml.Node
	walkMapping(root, "", add, func(k, v *yaml.Node) { groups = append(groups, v) })
	for _, gs := range groups {
		switch gs = deref(gs); {
		case isNull(gs):
		case gs.Kind != yaml.SequenceNode:
			add(gs, "groups: %s is not a list of groups (groups: [{profile: …}, …])", valueWords(gs))
		default:
			for i, g := range gs.Content {
				checkGroup(g, i+1, add)
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].line < ps[j].line })
	return ps
}

// checkGroup checks the values of group i (1-based).
func checkGroup(g *yaml.Node, i int, add func(*yaml.Node, string, ...any)) {
	at := groupRef(i, "")
	d := deref(g)
	switch {
	case isNull(d):
		add(g, "%s is empty (want a mapping: {profile: …, share: …})", at)
		return
	case d.Kind != yaml.MappingNode:
		add(g, "%s: %s is not a group (a mapping: {profile: …, share: …})", at, valueWords(d))
		return
	}
	at = groupRef(i, scalarValue(d, "name"))
	walkMapping(d, at+": ", add, func(k, v *yaml.Node) {
		w, ok := groupWants[k.Value]
		if !ok {
			return // unknown: reported by unknownKeys
		}
		v = deref(v)
		switch k.Value {
		case "patches":
			switch {
			case isNull(v):
			case v.Kind != yaml.SequenceNode:
				add(v, "%s: patches: %s is not %s", at, valueWords(v), w.want)
			default:
				for j, p := range v.Content {
					if p = deref(p); isNull(p) {
						add(p, "%s: patches: item %d is empty (want a patch edit: +name or -name)", at, j+1)
					} else if bad := decodeWords(p, new(string), "a patch edit (+name or -name)"); bad != "" {
						add(p, "%s: patches: item %d: %s", at, j+1, bad)
					}
				}
			}
		case "sysctls":
			switch {
			case isNull(v):
			case v.Kind != yaml.MappingNode:
				add(v, "%s: sysctls: %s is not %s", at, valueWords(v), w.want)
			default:
				walkMapping(v, at+": sysctls: ", add, func(sk, sv *yaml.Node) {
					if bad := decodeWords(sv, new(string), "a value (text or a number)"); bad != "" {
						add(deref(sv), "%s: sysctls: %s: %s", at, sk.Value, bad)
					}
				})
			}
		default:
			bad := decodeWords(v, w.into(), w.want)
			if _, isInt := w.into().(*int); isInt && bad == "" && !whole(v) {
				// the decoder truncates 2.5 to 2 without a word
				bad = valueWords(v) + " is not " + w.want
			}
			if bad != "" {
				add(v, "%s: %s: %s", at, k.Value, bad)
			}
		}
	})
}

// walkMapping calls f with each key of the mapping n, through merge keys,
// and reports (with the prefix at) what the decoder would reject about
// the mapping and the mappings merged into it: a key written twice, a key
// that is not text, a merge key whose value is not a mapping or a list of
// mappings.
func walkMapping(n *yaml.Node, at string, add func(*yaml.Node, string, ...any), f func(k, v *yaml.Node)) {
	seen := map[*yaml.Node]bool{}
	var check func(m *yaml.Node)
	check = func(m *yaml.Node) {
		if m = deref(m); m.Kind != yaml.MappingNode || seen[m] {
			return
		}
		seen[m] = true
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			for j := i + 2; j+1 < len(m.Content); j += 2 {
				// the decoder's own test: same kind and same text
				if o := m.Content[j]; o.Kind == k.Kind && o.Value == k.Value {
					add(o, "%s%s: written twice (first at line %d)", at, keyWords(o), k.Line)
					break
				}
			}
			switch {
			case deref(k).Kind != yaml.ScalarNode:
				add(k, "%s%s is not a key (a key is text)", at, valueWords(deref(k)))
			case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
				if !mergesMappings(v) {
					add(v, "%s<<: %s is not a mapping or a list of mappings to merge", at, valueWords(deref(v)))
				} else if v.Kind == yaml.SequenceNode {
					for _, mm := range v.Content {
						check(mm)
					}
				} else {
					check(v)
				}
			}
		}
	}
	check(n)
	mappingKeys(n, map[*yaml.Node]bool{}, f)
}

// mergesMappings reports whether v is a merge key's value the decoder
// takes: a mapping, an alias of one, or a list of those.
func mergesMappings(v *yaml.Node) bool {
	isMap := func(n *yaml.Node) bool {
		return n.Kind == yaml.MappingNode || n.Kind == yaml.AliasNode && n.Alias != nil && n.Alias.Kind == yaml.MappingNode
	}
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			if !isMap(m) {
				return false
			}
		}
		return true
	}
	return isMap(v)
}

// decodeWords decodes n into into and says what is wrong, "" if nothing.
func decodeWords(n *yaml.Node, into any, want string) string {
	err := n.Decode(into)
	if err == nil {
		return ""
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return valueWords(n) + " is not " + want
	}
	return valueWords(n) + ": " + yamlMessage(err, "")
}

// whole reports whether the scalar n, which decodes into an int, is a
// whole number, not a fraction the decoder truncates.
func whole(n *yaml.Node) bool {
	var f float64
	if n.Decode(&f) != nil {
		return true // no number to judge (the decoder took it as an int): keep its reading
	}
	return !math.IsInf(f, 0) && f == math.Trunc(f)
}

// valueWords names a value as the user wrote it: a scalar quoted (its
// newlines escaped, so the error stays one line), else its kind.
func valueWords(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "*" + n.Value
	}
	const maxQuoted = 40
	s := n.Value
	if r := []rune(s); len(r) > maxQuoted {
		s = string(r[:maxQuoted]) + "…"
	}
	return strconv.Quote(s)
}

// keyWords names a key: its text, or its kind.
func keyWords(k *yaml.Node) string {
	if k.Kind == yaml.ScalarNode {
		return strings.ReplaceAll(k.Value, "\n", `\n`)
	}
	return valueWords(k)
}

// isNull reports whether n is YAML's null (~, null or nothing).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalarValue is the text of the mapping m's key k when it is a scalar
// written once in m itself, "" otherwise.
func scalarValue(m *yaml.Node, k string) string {
	v := ""
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == k {
			if n := deref(m.Content[i+1]); n.Kind == yaml.ScalarNode && !isNull(n) && v == "" {
				v = n.Value
			}
		}
	}
	return v
}

// groupRef names group i (1-based) and, when it has one, its name:
// quoted when it has control characters, cut when long, so an error
// stays one readable line.
func groupRef(i int, name string) string {
	ref := fmt.Sprintf("group %d", i)
	if name == "" {
		return ref
	}
	const maxName = 40
	if r := []rune(name); len(r) > maxName {
		name = string(r[:maxName]) + "…"
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		name = strconv.Quote(name)
	}
	return ref + " (" + name + ")"
}

// shapeError words ps (sorted by line) as one line: the first problem
// with the file and its line, and how many more the file has, as the
// scenario loader's errors do.
func shapeError(file string, ps []shapeProblem) error {
	msg := fmt.Sprintf("%s:%d: %s", file, ps[0].line, ps[0].msg)
	if n := len(ps) - 1; n > 1 {
		return fmt.Errorf("%s (and %d more problems)", msg, n)
	} else if n == 1 {
		return errors.New(msg + " (and 1 more problem)")
	}
	return errors.New(msg)
}
