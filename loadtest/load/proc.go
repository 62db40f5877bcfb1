package load

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// CPUSeconds returns the user+system CPU time of process pid so far, from
// /proc/PID/stat (fields 14 and 15).
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("load: read stat of %d: %w", pid, err)
	}
	return parseStat(b)
}

// parseStat reads utime+stime from the text of /proc/PID/stat. The command
// name (field 2) may hold spaces and parentheses: fields are counted after
// its last ')'.
func parseStat(b []byte) (float64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("load: malformed stat line")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14 = f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("load: stat line has %d fields after the name", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("load: bad utime/stime %q %q", f[11], f[12])
	}
	return float64(ut+st) / clockTicks, nil
}

// Memory is the memory of a process from /proc/PID/status, in bytes.
type Memory struct {
	// RSS is VmRSS, the resident set now.
	RSS int64
	// HWM is VmHWM, the peak resident set since the process started.
	HWM int64
}

// ReadMemory returns VmRSS and VmHWM of process pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("load: read status of %d: %w", pid, err)
	}
	return parseStatus(b), nil
}

func parseStatus(b []byte) Memory {
	var m Memory
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		*dst = n * 1024 // the unit is kB
	}
	return m
}

// ProcResult is what the generator measured of one server process during the
// measured window.
type ProcResult struct {
	// Name labels the process (e.g. "gateway").
	Name string `json:"name"`
	// PID is the process id.
	PID int `json:"pid"`
	// CPUSeconds is the user+system CPU time spent during the window.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPerRequestUS is CPUSeconds per completed request, in microseconds.
	CPUPerRequestUS float64 `json:"cpu_per_request_us"`
	// RSSBeforeBytes is VmRSS before the generator sent anything (the idle
	// footprint of a fresh process).
	RSSBeforeBytes int64 `json:"rss_before_bytes"`
	// RSSStartBytes is VmRSS when the window opened.
	RSSStartBytes int64 `json:"rss_start_bytes"`
	// RSSPeakBytes is the largest VmRSS sampled during the window.
	RSSPeakBytes int64 `json:"rss_peak_bytes"`
	// HWMBytes is VmHWM (the process's lifetime peak) at the end.
	HWMBytes int64 `json:"hwm_bytes"`
}
