// Package auth is who a client is and what it may do: the identity and
// rights a token carries (docs/protocol.md, "Rights and tokens"), checked by
// the hub on every socket message and by the server on every API call.
// Rights are patterns over room names: watch (join and cursors), one list
// per mutation op (bid, edit, ...), the room kinds the holder may create,
// and admin. Development mode (no token secret) grants everything.
package auth

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"hotrow/internal/textutil"
)

// Rights is what the holder of an identity may do.
type Rights struct {
	// Watch covers join and cursor.
	Watch Patterns
	// Ops holds, per mutation op type ("bid", "edit"), the rooms the
	// holder may send it to. Sending needs no watch right; seeing the
	// room's events does.
	Ops map[string]Patterns
	// Create lists the room kinds the holder may create over HTTP.
	Create []string
	// Admin allows the /debug/ endpoints and administrative actions.
	Admin bool
	// all is development mode's every right.
	all bool
}

// All is every right: development mode, where no token secret is set.
func All() Rights { return Rights{all: true} }

// Everything reports whether r grants every right (development mode).
func (r Rights) Everything() bool { return r.all }

// DefaultRights is what a token without a rights claim gets out of the box:
// watch, and every given mutation op, on every room; no create, no admin.
func DefaultRights(opTypes []string) Rights {
	r := Rights{Watch: Patterns{"*"}, Ops: map[string]Patterns{}}
	for _, op := range opTypes {
		r.Ops[op] = Patterns{"*"}
	}
	return r
}

// CanWatch reports whether the holder may join room and send cursors to it.
func (r Rights) CanWatch(room string) bool { return r.all || r.Watch.Match(room) }

// CanDo reports whether the holder may send mutation op to room.
func (r Rights) CanDo(op, room string) bool { return r.all || r.Ops[op].Match(room) }

// CanCreate reports whether the holder may create rooms of kind.
func (r Rights) CanCreate(kind string) bool { return r.all || slices.Contains(r.Create, kind) }

// IsAdmin reports whether the holder has the admin right.
func (r Rights) IsAdmin() bool { return r.all || r.Admin }

// Patterns are room-name patterns: a room name, or a prefix ending in "*"
// ("auction:*", "schema:shop-*", or "*" for every room).
type Patterns []string

// Match reports whether room matches any of the patterns.
func (ps Patterns) Match(room string) bool {
	for _, p := range ps {
		if prefix, wild := strings.CutSuffix(p, "*"); wild && strings.HasPrefix(room, prefix) || p == room {
			return true
		}
	}
	return false
}

// maxPatternChars bounds one pattern: a room name is at most a kind (32)
// and an id (64) with a colon between.
const maxPatternChars = 100

// check validates patterns: non-empty, no control characters, "*" only at
// the end.
func (ps Patterns) check(field string) error {
	for i, p := range ps {
		switch {
		case p == "":
			return fmt.Errorf("rights.%s[%d] is empty", field, i)
		case textutil.Chars(p) > maxPatternChars || textutil.HasControl(p):
			return fmt.Errorf("rights.%s[%d] must be at most %d characters without control characters", field, i, maxPatternChars)
		case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
			return fmt.Errorf("rights.%s[%d] %q may have a * only at its end", field, i, textutil.Clip(p, 40))
		}
	}
	return nil
}

// UnmarshalJSON reads the rights claim:
//
//	{"watch": ["auction:*"], "bid": ["auction:*"], "edit": ["schema:shop"],
//	 "create": ["auction"], "admin": false}
//
// Every key other than watch, create and admin is a mutation op type with
// its room patterns; an op this hub does not know grants nothing.
func (r *Rights) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return fmt.Errorf("rights must be a JSON object")
	}
	out := Rights{Ops: map[string]Patterns{}}
	for k, v := range fields {
		var err error
		switch k {
		case "admin":
			if json.Unmarshal(v, &out.Admin) != nil {
				err = fmt.Errorf("rights.admin must be true or false")
			}
		case "create":
			if json.Unmarshal(v, &out.Create) != nil {
				err = fmt.Errorf("rights.create must be a list of room kinds")
			}
		case "watch":
			if err = json.Unmarshal(v, &out.Watch); err != nil {
				err = fmt.Errorf("rights.watch must be a list of room-name patterns")
			} else {
				err = out.Watch.check(k)
			}
		default:
			var ps Patterns
			if json.Unmarshal(v, &ps) != nil {
				err = fmt.Errorf("rights.%s must be a list of room-name patterns", textutil.Clip(k, 32))
			} else if err = ps.check(textutil.Clip(k, 32)); err == nil {
				out.Ops[k] = ps
			}
		}
		if err != nil {
			return err
		}
	}
	*r = out
	return nil
}

// MarshalJSON writes the rights claim (development mode's every right as
// {"all": true}, for logs).
func (r Rights) MarshalJSON() ([]byte, error) {
	if r.all {
		return []byte(`{"all":true}`), nil
	}
	m := map[string]any{"watch": nonNil(r.Watch), "create": nonNil(Patterns(r.Create)), "admin": r.Admin}
	ops := make([]string, 0, len(r.Ops))
	for op := range r.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		m[op] = nonNil(r.Ops[op])
	}
	return json.Marshal(m)
}

func nonNil(p Patterns) Patterns {
	if p == nil {
		return Patterns{}
	}
	return p
}

// ParseRights reads rights written as the claim's JSON, for configuration
// (the default rights).
func ParseRights(s string) (Rights, error) {
	var r Rights
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return r, err
	}
	return r, nil
}
