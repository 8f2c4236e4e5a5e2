package main

import "net/http/pprof"

// registerDebug serves Go's profiles under /debug/pprof/ to holders of the
// admin right (everyone in development mode).
func registerDebug(rt *routes) {
	rt.api("GET", "/debug/pprof/", needAdmin, pprof.Index)
	rt.api("GET", "/debug/pprof/cmdline", needAdmin, pprof.Cmdline)
	rt.api("GET", "/debug/pprof/profile", needAdmin, pprof.Profile)
	rt.api("GET", "/debug/pprof/symbol", needAdmin, pprof.Symbol)
	rt.api("GET", "/debug/pprof/trace", needAdmin, pprof.Trace)
}
