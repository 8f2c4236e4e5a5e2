package main

import (
	"hotrow/rooms"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"
)

// registerDebug serves the busiest rooms (/debug/rooms) and Go's profiles
// under /debug/pprof/ to holders of the admin right (everyone in
// development mode).
func registerDebug(rt *routes, reg *rooms.Registry) {
	rt.api("GET", "/debug/rooms", needAdmin, hotRooms(reg))
	rt.api("GET", "/debug/pprof/", needAdmin, pprof.Index)
	rt.api("GET", "/debug/pprof/cmdline", needAdmin, pprof.Cmdline)
	rt.api("GET", "/debug/pprof/profile", needAdmin, pprof.Profile)
	rt.api("GET", "/debug/pprof/symbol", needAdmin, pprof.Symbol)
	rt.api("GET", "/debug/pprof/trace", needAdmin, pprof.Trace)
}

// hotRooms serves GET /debug/rooms: this hub's busiest rooms over the last
// minute, by transaction attempts (or ?by=conflicts, ?by=subscribers),
// at most ?limit= of them (default 20). Metrics never name a room; this is
// how an operator finds the one burning retries (deploy/RUNBOOK.md).
func hotRooms(reg *rooms.Registry) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		by := r.URL.Query().Get("by")
		switch by {
		case "":
			by = "attempts"
		case "attempts", "conflicts", "subscribers":
		default:
			writeError(w, badRequest("by must be attempts, conflicts or subscribers"))
			return
		}
		limit := 20
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 1000 {
				writeError(w, badRequest("limit must be a whole number from 1 to 1000"))
				return
			}
			limit = n
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"window_s": int(rooms.ActivityWindow / time.Second),
			"by":       by,
			"rooms":    reg.Hot(by, limit),
		})
	}
}
