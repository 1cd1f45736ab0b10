// Command fakedapr stands in for the Dapr CLI's `dapr run -f` in TestMakeRunWithTheDaprCLI, doing what the
// real CLI 1.18 does with processes (cmd/run.go, cmd/run_unix.go): it moves itself into a process group of its
// own, starts each app and sidecar in a process group of its own, and on SIGINT or SIGTERM stops those groups
// and exits. So a terminal's Ctrl-C, which goes to the foreground process group only, never reaches it
// directly — exactly the trap `make run` must handle.
//
// It records its pid and its children's in $FAKE_DAPR_PIDS (one per line) and whether the API tokens were in
// its environment in $FAKE_DAPR_ENV, so the test can check what `make run` passed and what is left running.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 4 || os.Args[1] != "run" || os.Args[2] != "-f" {
		fmt.Fprintln(os.Stderr, "fakedapr: only `dapr run -f <file>` is simulated")
		os.Exit(2)
	}
	if _, err := os.Stat(os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "fakedapr:", err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	_ = syscall.Setpgid(0, 0) // daprsyscall.CreateProcessGroupID

	pids := []string{strconv.Itoa(os.Getpid())}
	var children []*exec.Cmd
	for range 4 { // two apps and their sidecars
		c := exec.Command("sleep", "600")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fakedapr:", err)
			os.Exit(1)
		}
		children = append(children, c)
		pids = append(pids, strconv.Itoa(c.Process.Pid))
	}
	tokens := "no"
	if os.Getenv("DAPR_API_TOKEN") != "" && os.Getenv("APP_API_TOKEN") != "" {
		tokens = "yes"
	}
	must(os.WriteFile(os.Getenv("FAKE_DAPR_ENV"), []byte("tokens="+tokens+"\n"), 0o644))
	must(os.WriteFile(os.Getenv("FAKE_DAPR_PIDS"), []byte(strings.Join(pids, "\n")+"\n"), 0o644))
	fmt.Println("== APP - fake == You're up and running! Both Dapr and your app logs will appear here.")

	sig := <-stop
	fmt.Printf("fakedapr: received %v; stopping %d processes\n", sig, len(children))
	for _, c := range children {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM) // killProcessGroup
		_ = c.Wait()
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakedapr:", err)
		os.Exit(1)
	}
}
