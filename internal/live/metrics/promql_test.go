package metrics

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// This file reads the PromQL in deploy/ (alert rules, their promtool
// tests, the Grafana dashboard) far enough to name the metrics, the label
// matchers and the grouping labels each expression uses, so that a test
// can hold them to what the exporter exposes. It is a checker's lexer, not
// a PromQL parser: what it cannot place it reports as an error, and the
// test fails rather than passing over it.

// selector is one vector selector: a metric name and its matchers.
type selector struct {
	name     string
	matchers []matcher
}

type matcher struct {
	label, op, value string
}

// promqlUse is what one expression refers to.
type promqlUse struct {
	selectors []selector
	grouping  []string // labels in by/without/on/ignoring/group_left/group_right lists
}

// grouping keywords take a parenthesised list of label names.
var groupingKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// aggregators may put their by/without clause before the parenthesis.
var aggregators = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true}

// operator keywords stand between operands.
var operatorKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "atan2": true}

type token struct {
	kind byte // 'i' identifier, 's' string, 'n' number or duration, 'v' Grafana variable, 'p' punctuation
	text string
}

// lexPromQL splits expr into tokens; Grafana's $variables and ${variables}
// are tokens of their own.
func lexPromQL(expr string) ([]token, error) {
	var out []token
	r := []rune(expr)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(r) && r[j] != c {
				if r[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(r) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, token{'s', string(r[i+1 : j])})
			i = j + 1
		case c == '$':
			j := i + 1
			if j < len(r) && r[j] == '{' {
				for j < len(r) && r[j] != '}' {
					j++
				}
				j++
			} else {
				for j < len(r) && (r[j] == '_' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
					j++
				}
			}
			out = append(out, token{'v', string(r[i:j])})
			i = j
		case c == '_' || c == ':' || unicode.IsLetter(c):
			j := i
			for j < len(r) && (r[j] == '_' || r[j] == ':' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			out = append(out, token{'i', string(r[i:j])})
			i = j
		case unicode.IsDigit(c) || c == '.':
			j := i
			for j < len(r) && (r[j] == '.' || unicode.IsLetter(r[j]) || unicode.IsDigit(r[j])) {
				j++
			}
			out = append(out, token{'n', string(r[i:j])})
			i = j
		default:
			// two-character operators first
			if i+1 < len(r) {
				if two := string(r[i : i+2]); two == "=~" || two == "!~" || two == "!=" || two == "==" || two == ">=" || two == "<=" {
					out = append(out, token{'p', two})
					i += 2
					continue
				}
			}
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out, nil
}

// parseUse finds the selectors and grouping labels of expr.
func parseUse(expr string) (promqlUse, error) {
	toks, err := lexPromQL(expr)
	if err != nil {
		return promqlUse{}, err
	}
	var u promqlUse
	at := func(i int) token {
		if i < len(toks) {
			return toks[i]
		}
		return token{}
	}
	// matchers reads {label op "value", …} from toks[i] == "{"; it
	// returns the index after "}".
	matchers := func(i int) ([]matcher, int, error) {
		var ms []matcher
		i++
		for at(i).text != "}" {
			l, op, v := at(i), at(i+1), at(i+2)
			if l.kind != 'i' || (op.text != "=" && op.text != "!=" && op.text != "=~" && op.text != "!~") || v.kind != 's' {
				return nil, 0, fmt.Errorf("cannot read a label matcher at %q %q %q", l.text, op.text, v.text)
			}
			ms = append(ms, matcher{l.text, op.text, v.text})
			i += 3
			if at(i).text == "," {
				i++
			}
		}
		return ms, i + 1, nil
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		switch {
		case t.kind == 'p' && t.text == "[":
			for i < len(toks) && toks[i].text != "]" {
				i++
			}
			i++
		case t.kind == 'p' && t.text == "{":
			ms, next, err := matchers(i)
			if err != nil {
				return u, err
			}
			sel := selector{matchers: ms}
			for _, m := range ms {
				if m.label == "__name__" && m.op == "=" {
					sel.name = m.value
				}
			}
			if sel.name == "" {
				return u, fmt.Errorf("a selector without a metric name")
			}
			u.selectors = append(u.selectors, sel)
			i = next
		case t.kind == 'i' && groupingKeywords[t.text]:
			if at(i+1).text != "(" {
				return u, fmt.Errorf("%s without a label list", t.text)
			}
			i += 2
			for at(i).text != ")" {
				if l := at(i); l.kind == 'i' {
					u.grouping = append(u.grouping, l.text)
				} else if l.text != "," {
					return u, fmt.Errorf("%s list: unexpected %q", t.text, l.text)
				}
				i++
			}
			i++
		case t.kind == 'i' && (operatorKeywords[t.text] || t.text == "offset"):
			i++
		case t.kind == 'i' && (at(i+1).text == "(" || aggregators[t.text]):
			i++ // a function or an aggregation
		case t.kind == 'i':
			sel := selector{name: t.text}
			i++
			if at(i).text == "{" {
				ms, next, err := matchers(i)
				if err != nil {
					return u, err
				}
				sel.matchers, i = ms, next
			}
			u.selectors = append(u.selectors, sel)
		default:
			i++
		}
	}
	return u, nil
}

func TestParseUse(t *testing.T) {
	u, err := parseUse(`sum by (instance, dev) (increase(arplab_garp_received_total{instance=~"$instance",verdict=~"ignored|dropped"}[$__rate_interval])) > 0 and on(instance) arplab_host_info offset 5m`)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(u)
	want := `{[{arplab_garp_received_total [{instance =~ $instance} {verdict =~ ignored|dropped}]} {arplab_host_info []}] [instance dev instance]}`
	if got != want {
		t.Errorf("parseUse = %s\nwant      %s", got, want)
	}
	for _, bad := range []string{`arplab_x{dev=}`, `sum by arplab_x`, `{dev="o0"}`, `arplab_x{dev="o0`} {
		if _, err := parseUse(bad); err == nil {
			t.Errorf("parseUse(%q) gave no error", bad)
		}
	}
}

// labelValuesQuery is Grafana's label_values(METRIC, LABEL) variable query.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// plainAlternatives reports the alternatives of a regexp matcher value
// that is only literal words joined by |, or nil.
func plainAlternatives(v string) []string {
	if !regexp.MustCompile(`^[A-Za-z0-9_.-]+(\|[A-Za-z0-9_.-]+)*$`).MatchString(v) {
		return nil
	}
	return strings.Split(v, "|")
}
