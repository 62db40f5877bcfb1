package main

import (
	"log/slog"
	"sort"
	"strings"

	"github.com/switchyard-ai/switchyard/config"
)

// logPools logs each inference pool: its endpoints and its picker.
func logPools(log *slog.Logger, snap *config.Snapshot) {
	var keys []string
	for k, b := range snap.Backends {
		if b.InferencePool != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ip := snap.Backends[k].InferencePool
		picker := "builtin"
		if ip.External() {
			picker = "external " + ip.EndpointPicker.Address
			if ip.EndpointPicker.TLS.On() {
				picker += " (TLS)"
			}
			picker += ", " + ip.FailureMode()
		}
		log.Info("inference pool", "backend", k, "endpoints", strings.Join(ip.Addresses(), ","), "picker", picker)
	}
}
