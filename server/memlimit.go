package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memLimitShare is the part of a container's memory limit the Go heap is
// held to when GOMEMLIMIT is not set: the rest is stacks, kernel buffers of
// the process and headroom.
const memLimitShare = 0.9

// setMemoryLimit makes the Go runtime aware of the container's memory limit
// (cgroup v2 memory.max) when the operator did not set GOMEMLIMIT: the
// garbage collector then works harder as the heap nears the limit instead
// of the process being killed for going over it. An explicit GOMEMLIMIT
// always wins; so does no limit at all. See README, "Memory".
func setMemoryLimit(log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		log.Info("memory limit from GOMEMLIMIT", "bytes", debug.SetMemoryLimit(-1))
		return
	}
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return
	}
	v := strings.TrimSpace(string(b))
	limit, err := strconv.ParseInt(v, 10, 64)
	if err != nil || limit <= 0 { // "max": no limit
		return
	}
	soft := int64(float64(limit) * memLimitShare)
	debug.SetMemoryLimit(soft)
	log.Info("memory limit set from the container's", "container_bytes", limit, "gomemlimit_bytes", soft)
}
