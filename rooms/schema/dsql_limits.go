package schema

import "fmt"

// Aurora DSQL's limits on what a schema may declare (user guide: "Supported
// data types in Aurora DSQL" and "Cluster quotas and database limits").
const (
	DSQLMaxCharBytes    = 4096  // char(n): 4096 bytes
	DSQLMaxVarcharBytes = 65535 // varchar(n): 65535 bytes
	// DSQLMaxNumericScale is the largest numeric scale; the guide gives
	// precision 38 and scale 37 (one later version of the page allows
	// more; this stays with the smaller).
	DSQLMaxNumericScale = 37
	DSQLMaxKeyColumns   = 8  // columns in a primary key or index (54011)
	DSQLMaxIndexes      = 24 // indexes per table, the primary key's included (54000)
)

// dsqlProblems lists what in d Aurora DSQL would refuse, each naming its
// table and column, and notes worth a comment in the export.
func dsqlProblems(d *Doc) (problems, notes []string) {
	for _, t := range d.Tables {
		keys, indexes := 0, 0
		for _, c := range t.Columns {
			col := fmt.Sprintf("column %s.%s", QuoteIdent(t.Name), QuoteIdent(c.Name))
			typ, err := ParseType(c.Type)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", col, err))
				continue
			}
			switch {
			case typ.Base == tChar && typ.N > DSQLMaxCharBytes:
				problems = append(problems, fmt.Sprintf("%s: %s is over DSQL's limit of %d bytes for char(n); use char(%d) or less, or text",
					col, typ, DSQLMaxCharBytes, DSQLMaxCharBytes))
			case typ.Base == tVarchar && typ.N > DSQLMaxVarcharBytes:
				problems = append(problems, fmt.Sprintf("%s: %s is over DSQL's limit of %d bytes for varchar(n); use varchar(%d) or less, or text",
					col, typ, DSQLMaxVarcharBytes, DSQLMaxVarcharBytes))
			case typ.Base == tNumeric && typ.S > DSQLMaxNumericScale:
				problems = append(problems, fmt.Sprintf("%s: %s has a scale over DSQL's %d", col, typ, DSQLMaxNumericScale))
			case typ.Base == tChar && 4*typ.N > DSQLMaxCharBytes:
				notes = append(notes, byteNote(col, typ, DSQLMaxCharBytes))
			case typ.Base == tVarchar && 4*typ.N > DSQLMaxVarcharBytes:
				notes = append(notes, byteNote(col, typ, DSQLMaxVarcharBytes))
			}
			if c.PrimaryKey {
				keys++
			}
			if c.Unique {
				indexes++
			}
		}
		if keys > 0 {
			indexes++
		}
		if keys > DSQLMaxKeyColumns {
			problems = append(problems, fmt.Sprintf("table %s: a primary key of %d columns is over DSQL's %d",
				QuoteIdent(t.Name), keys, DSQLMaxKeyColumns))
		}
		if indexes > DSQLMaxIndexes {
			problems = append(problems, fmt.Sprintf("table %s: %d indexes (the primary key and one per unique column) are over DSQL's %d per table",
				QuoteIdent(t.Name), indexes, DSQLMaxIndexes))
		}
	}
	return problems, notes
}

// byteNote says that a length in characters may exceed a limit in bytes
// (UTF-8 takes up to 4 per character): DSQL refuses such a value at INSERT.
func byteNote(col string, typ Type, limit int) string {
	return fmt.Sprintf("%s %s: DSQL refuses values over %d bytes, and a character may take up to 4", col, typ, limit)
}
