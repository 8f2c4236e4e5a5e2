package pgstore

import (
	"fmt"
	"regexp"
	"strings"
)

// DSQLProblems lists what in a script of SQL meant to run as ONE
// transaction on Aurora DSQL would be refused or misbehave there: several
// DDL statements, DDL beside DML, SERIAL, json/jsonb columns, foreign keys,
// indexes without ASYNC, triggers, TRUNCATE, SAVEPOINT, LISTEN/NOTIFY,
// advisory locks, temporary tables, isolation-level and statement_timeout
// settings, extensions, inheritance and partitioning. Comments and quoted
// text (string literals and quoted identifiers) are ignored, so a table
// named "serial" is no problem.
func DSQLProblems(script string) []string {
	var out []string
	stmts := splitStatements(script)
	ddl, dml := 0, 0
	for _, s := range stmts {
		switch firstWord(s) {
		case "CREATE", "ALTER", "DROP", "COMMENT":
			ddl++
		case "INSERT", "UPDATE", "DELETE", "MERGE":
			dml++
		}
		if m := createIndex.FindStringSubmatch(s); m != nil && m[1] == "" {
			out = append(out, "indexes must be created with CREATE INDEX ASYNC: "+clipSQL(s))
		}
		for _, rule := range dsqlRules {
			if rule.re.MatchString(s) {
				out = append(out, fmt.Sprintf("%s: %s", rule.why, clipSQL(s)))
			}
		}
	}
	if ddl > 1 {
		out = append(out, fmt.Sprintf("%d DDL statements in one transaction: DSQL allows one", ddl))
	}
	if ddl > 0 && dml > 0 {
		out = append(out, "DDL beside DML in one transaction: DSQL refuses the mix")
	}
	return out
}

var dsqlRules = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`(?i)\b(small|big)?serial\b`), "SERIAL is not supported: use explicit keys or UUIDs"},
	{regexp.MustCompile(`(?i)\bjsonb?\b`), "json/jsonb columns are not supported: store text"},
	{regexp.MustCompile(`(?i)\b(references|foreign\s+key)\b`), "foreign keys are not supported"},
	{regexp.MustCompile(`(?i)\btrigger\b`), "triggers are not supported"},
	{regexp.MustCompile(`(?i)\btruncate\b`), "TRUNCATE is not supported"},
	{regexp.MustCompile(`(?i)\bsavepoint\b`), "SAVEPOINT is not supported"},
	{regexp.MustCompile(`(?i)\b(listen|notify|unlisten)\b`), "LISTEN/NOTIFY is not supported"},
	{regexp.MustCompile(`(?i)\bpg_(try_)?advisory`), "advisory locks are not supported"},
	{regexp.MustCompile(`(?i)\b(temp|temporary)\s+table\b`), "temporary tables are not supported"},
	{regexp.MustCompile(`(?i)\b(isolation\s+level|set\s+transaction)\b`), "isolation-level statements are refused: begin with default options"},
	{regexp.MustCompile(`(?i)\bstatement_timeout\b`), "statement_timeout is not supported: use context deadlines"},
	{regexp.MustCompile(`(?i)\bcreate\s+extension\b`), "extensions are not supported"},
	{regexp.MustCompile(`(?i)\b(inherits|partition\s+by)\b`), "inheritance and partitioning are not supported"},
}

// createIndex matches CREATE [UNIQUE] INDEX and captures ASYNC when present.
var createIndex = regexp.MustCompile(`(?i)^create\s+(?:unique\s+)?index\s+(async\b)?`)

// splitStatements splits a script on semicolons outside quotes and
// comments, returning each statement with quoted text and comments blanked.
func splitStatements(script string) []string {
	var stmts []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			stmts = append(stmts, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(script); i++ {
		ch := script[i]
		switch {
		case ch == '-' && i+1 < len(script) && script[i+1] == '-':
			for i < len(script) && script[i] != '\n' {
				i++
			}
			cur.WriteByte(' ')
		case ch == '/' && i+1 < len(script) && script[i+1] == '*':
			end := strings.Index(script[i+2:], "*/")
			if end < 0 {
				i = len(script)
			} else {
				i += end + 3
			}
			cur.WriteByte(' ')
		case ch == '\'' || ch == '"':
			// Skip to the closing quote; a doubled quote is an escaped one.
			j := i + 1
			for j < len(script) {
				if script[j] == ch {
					if j+1 < len(script) && script[j+1] == ch {
						j += 2
						continue
					}
					break
				}
				j++
			}
			cur.WriteString(" q ")
			i = j
		case ch == ';':
			flush()
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return stmts
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(f[0])
}

func clipSQL(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
