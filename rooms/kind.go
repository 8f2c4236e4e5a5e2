package rooms

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"hotrow/hub/wire"
	"hotrow/internal/textutil"
)

// Kind is one room kind, as its package declares it: everything the hub,
// the registry and the server need to know of it. A room is named
// "<Name>:<id>".
type Kind struct {
	// Name is the room-name prefix and the kind label of every metric:
	// "auction", "schema".
	Name string
	// Ops are the client messages that mutate this kind's rooms.
	Ops []Op
	// New makes the engine of the room with the given id.
	New Factory
}

// Op is a client message type that mutates a room of one kind.
type Op struct {
	// Type is the wire message type, and the Mutation's Op: "bid".
	Type string
	// Field is the message field carrying the op's payload: "amount". The
	// engine receives that field's raw JSON as Mutation.Payload.
	Field string
}

// Factory makes the engine for the room with the given id.
type Factory func(id string) Engine

// KindMaker makes a kind from the store the server opened and the shared
// dependencies. It fails when the store does not hold the kind's tables.
// Each kind package has one; the server lists them.
type KindMaker func(store any, d Deps) (Kind, error)

// Provided returns store as the kind's provider interface P (the method
// that hands out the kind's store), or an error naming what is missing.
func Provided[P any](store any, kind string) (P, error) {
	p, ok := store.(P)
	if !ok {
		return p, fmt.Errorf("the %T store does not hold %s rooms: it must implement %T", store, kind, (*P)(nil))
	}
	return p, nil
}

// Kinds is the set of room kinds one hub serves, in registration order.
type Kinds struct {
	list []Kind
	ops  map[string]int // message type -> index in list
}

var kindName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
var opType = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// NewKinds checks the kinds and indexes them. Names and op types must be
// unique, lower-case words, and no op may reuse a type the hub answers
// itself (join, leave, cursor, ping).
func NewKinds(ks ...Kind) (*Kinds, error) {
	out := &Kinds{ops: map[string]int{}}
	for i, k := range ks {
		switch {
		case !kindName.MatchString(k.Name):
			return nil, fmt.Errorf("room kind %q: a name is 1-32 of a-z, 0-9 and _, starting with a letter", k.Name)
		case k.New == nil:
			return nil, fmt.Errorf("room kind %q has no engine factory", k.Name)
		case out.Get(k.Name) != nil:
			return nil, fmt.Errorf("room kind %q is registered twice", k.Name)
		}
		for _, op := range k.Ops {
			switch {
			case !opType.MatchString(op.Type):
				return nil, fmt.Errorf("room kind %q: op type %q is not a lower-case word", k.Name, op.Type)
			case op.Field == "" || op.Field == "type" || op.Field == "ref" || op.Field == "room" || op.Field == "id":
				return nil, fmt.Errorf("room kind %q: op %q needs a payload field of its own", k.Name, op.Type)
			case slices.Contains(wire.HubTypes, op.Type):
				return nil, fmt.Errorf("room kind %q: op type %q is a message the hub answers itself", k.Name, op.Type)
			}
			if j, dup := out.ops[op.Type]; dup {
				return nil, fmt.Errorf("room kinds %q and %q both take %q messages", out.list[j].Name, k.Name, op.Type)
			}
			out.ops[op.Type] = i
		}
		out.list = append(out.list, k)
	}
	if len(out.list) == 0 {
		return nil, fmt.Errorf("no room kinds registered")
	}
	return out, nil
}

// MustKinds is NewKinds for kinds fixed in code; it panics on a mistake.
func MustKinds(ks ...Kind) *Kinds {
	k, err := NewKinds(ks...)
	if err != nil {
		panic(err)
	}
	return k
}

// All returns the kinds in registration order.
func (k *Kinds) All() []Kind { return slices.Clone(k.list) }

// Names returns the kind names in registration order.
func (k *Kinds) Names() []string {
	out := make([]string, len(k.list))
	for i, x := range k.list {
		out[i] = x.Name
	}
	return out
}

// Get returns the kind called name, or nil.
func (k *Kinds) Get(name string) *Kind {
	for i := range k.list {
		if k.list[i].Name == name {
			return &k.list[i]
		}
	}
	return nil
}

// ForOp returns the kind that takes messages of type typ, and the op.
func (k *Kinds) ForOp(typ string) (*Kind, Op, bool) {
	i, ok := k.ops[typ]
	if !ok {
		return nil, Op{}, false
	}
	for _, op := range k.list[i].Ops {
		if op.Type == typ {
			return &k.list[i], op, true
		}
	}
	return nil, Op{}, false
}

// OpTypes returns every mutation message type, in registration order.
func (k *Kinds) OpTypes() []string {
	var out []string
	for _, x := range k.list {
		for _, op := range x.Ops {
			out = append(out, op.Type)
		}
	}
	return out
}

var roomID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether id may name a room: 1-64 of A-Za-z0-9_-.
func ValidID(id string) bool { return roomID.MatchString(id) }

// IDRule says what ValidID accepts, for error messages.
const IDRule = "must be 1-64 characters of A-Z, a-z, 0-9, _ and -"

// ParseRoom splits a room name "kind:id" and validates it: the kind must be
// registered and the id valid (ValidID).
func (k *Kinds) ParseRoom(name string) (kind, id string, err error) {
	kind, id, ok := strings.Cut(name, ":")
	if !ok {
		forms := make([]string, len(k.list))
		for i, x := range k.list {
			forms[i] = x.Name + ":<id>"
		}
		return "", "", fmt.Errorf("room %q must look like %s", textutil.Clip(name, 80), orList(forms))
	}
	if k.Get(kind) == nil {
		return "", "", fmt.Errorf("room %q has an unknown kind %q (this hub serves %s)", textutil.Clip(name, 80),
			textutil.Clip(kind, 80), orList(k.Names()))
	}
	if !ValidID(id) {
		return "", "", fmt.Errorf("room id %q %s", textutil.Clip(id, 80), IDRule)
	}
	return kind, id, nil
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
