package rooms

import (
	"fmt"
	"regexp"
	"strings"
)

var roomID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseName splits a room name "kind:id" and validates it: the kind must be
// one of kinds and the id 1-64 of A-Za-z0-9_-.
func ParseName(name string, kinds map[string]Factory) (kind, id string, err error) {
	kind, id, ok := strings.Cut(name, ":")
	if !ok {
		return "", "", fmt.Errorf("room %q must look like auction:<id> or schema:<id>", trim(name))
	}
	if _, known := kinds[kind]; !known {
		return "", "", fmt.Errorf("room %q has an unknown kind %q", trim(name), trim(kind))
	}
	if !roomID.MatchString(id) {
		return "", "", fmt.Errorf("room id %q must be 1-64 characters of A-Z, a-z, 0-9, _ and -", trim(id))
	}
	return kind, id, nil
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
