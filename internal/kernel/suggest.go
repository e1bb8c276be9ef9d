package kernel

// Suggest returns the known name closest to name by edit distance, or ""
// when none is close enough to be a plausible typo (half the longer name
// or more would have to change; a swap of two letters costs two). Error messages add it as "did you
// mean …?", because the known list alone makes the reader do the diff.
func Suggest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := editDistance(name, k)
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD < 0 || bestD*2 >= max(len(name), len(best)) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes
// (names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// didYouMean formats Suggest's answer for an error message ("" for none).
func didYouMean(name string, known []string) string {
	if s := Suggest(name, known); s != "" {
		return "did you mean " + `"` + s + `"? `
	}
	return ""
}
