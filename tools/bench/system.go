package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"orderflow/internal/launcher"
	"orderflow/internal/redisclean"
)

func cleanRedis(suffix, topicPrefix string) {
	if err := redisclean.Run("127.0.0.1:6379", suffix, topicPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cleaning Redis:", err)
	}
}

// deliveries counts the events the run's consumer groups have read from its streams (XINFO GROUPS
// entries-read), which is every delivery to an app, single or bulk, counted by the broker itself.
func deliveries(ctx context.Context, topicPrefix string) (float64, error) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	var total float64
	iter := rdb.Scan(ctx, 0, topicPrefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		groups, err := rdb.XInfoGroups(ctx, iter.Val()).Result()
		if err != nil {
			continue // not a stream
		}
		for _, g := range groups {
			total += float64(g.EntriesRead)
		}
	}
	return total, iter.Err()
}

// proc is one process's resource use, from /proc.
type proc struct {
	CPUSeconds float64 `json:"cpuSeconds"`
	PeakRSSMB  float64 `json:"peakRssMB"`
}

func readProc(pid int) proc {
	var p proc
	if pid == 0 {
		return p
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name, which is in parentheses and may contain spaces.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(fields) > 12 {
			utime, _ := strconv.ParseFloat(fields[11], 64)
			stime, _ := strconv.ParseFloat(fields[12], 64)
			p.CPUSeconds = (utime + stime) / clockTicks
		}
	}
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				p.PeakRSSMB = kb / 1024
			}
		}
	}
	return p
}

// clockTicks is USER_HZ, which Linux fixes at 100 on every architecture Go supports here.
const clockTicks = 100

type appUsage struct {
	App     proc `json:"app"`
	Sidecar proc `json:"sidecar"`
}

func usage(sys *launcher.System) map[string]appUsage {
	out := map[string]appUsage{}
	for _, a := range sys.Apps() {
		app, daprd := a.PIDs()
		out[a.Name] = appUsage{App: readProc(app), Sidecar: readProc(daprd)}
	}
	return out
}

// diffUsage is the CPU spent between two readings, with the peak RSS of the second.
func diffUsage(before, after map[string]appUsage) map[string]appUsage {
	out := map[string]appUsage{}
	for name, a := range after {
		b := before[name]
		a.App.CPUSeconds -= b.App.CPUSeconds
		a.Sidecar.CPUSeconds -= b.Sidecar.CPUSeconds
		out[name] = a
	}
	return out
}

func peaks(sys *launcher.System) map[string]appUsage { return usage(sys) }

func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %d CPUs, %s, %s", host, runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format(time.RFC3339))
}

// redisCPU reads the CPU seconds Redis has used (INFO cpu), so the table shows the broker and store's share.
func redisCPU(ctx context.Context) float64 {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// selfCPU is the CPU the bench process itself (the load generator) has used.
func selfCPU() float64 { return readProc(os.Getpid()).CPUSeconds }
