package componentcheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DaprVersion is the daprd release orderflow's sidecars run: tools/daprd.sh's DAPR_VERSION, which provisions
// it (TestDaprVersionMatchesDaprdScript keeps the two equal).
const DaprVersion = "v1.18.2"

const (
	daprModule    = "github.com/dapr/dapr"
	contribModule = "github.com/dapr/components-contrib"
)

// Modules are the module directories the checker reads its definitions from.
type Modules struct {
	DaprVersion    string
	DaprDir        string
	ContribVersion string // the components-contrib version dapr's go.mod requires
	ContribDir     string
}

// LocateModules finds github.com/dapr/dapr at daprVersion and the github.com/dapr/components-contrib
// version that release requires, downloading either into the module cache if it is not there yet.
func LocateModules(ctx context.Context, daprVersion string) (Modules, error) {
	daprDir, err := downloadModule(ctx, daprModule, daprVersion)
	if err != nil {
		return Modules{}, err
	}
	goMod, err := os.ReadFile(filepath.Join(daprDir, "go.mod"))
	if err != nil {
		return Modules{}, fmt.Errorf("reading dapr's go.mod: %w", err)
	}
	contribVersion, err := requiredVersion(goMod, contribModule)
	if err != nil {
		return Modules{}, fmt.Errorf("%s@%s go.mod: %w", daprModule, daprVersion, err)
	}
	contribDir, err := downloadModule(ctx, contribModule, contribVersion)
	if err != nil {
		return Modules{}, err
	}
	return Modules{DaprVersion: daprVersion, DaprDir: daprDir, ContribVersion: contribVersion, ContribDir: contribDir}, nil
}

// downloadModule returns the directory of module path@version in the module cache.
func downloadModule(ctx context.Context, path, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", path+"@"+version)
	// Run outside any module: `go mod download` inside one may record checksums in its go.sum, and the
	// checker must never touch the go.mod/go.sum of the tree it checks. GOWORK=off for the same reason.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	// With -json, failures are reported in the Error field of the output, with a non-zero exit status.
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download %s@%s: %w: %s", path, version, runErr, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("go mod download %s@%s: unreadable output: %w", path, version, err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", path, version, info.Error)
	}
	if runErr != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", path, version, runErr, strings.TrimSpace(stderr.String()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s reported no directory", path, version)
	}
	return info.Dir, nil
}

// requiredVersion returns the version of module that a go.mod requires, in either the single-line or the
// block form. A replace directive for module is an error: the required version would not be the code built.
func requiredVersion(goMod []byte, module string) (string, error) {
	var (
		version string
		block   string // "require" or "replace" inside a ( ... ) block
	)
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if block != "" && fields[0] == ")" {
			block = ""
			continue
		}
		directive := block
		if directive == "" {
			directive = fields[0]
			if directive != "require" && directive != "replace" {
				continue
			}
			fields = fields[1:]
			if len(fields) == 1 && fields[0] == "(" {
				block = directive
				continue
			}
		}
		if len(fields) == 0 || fields[0] != module {
			continue
		}
		switch directive {
		case "replace":
			return "", fmt.Errorf("%s is replaced (%s); the required version is not what daprd is built from", module, strings.Join(fields, " "))
		case "require":
			if len(fields) < 2 {
				return "", fmt.Errorf("malformed require line for %s", module)
			}
			version = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if version == "" {
		return "", errors.New(module + " is not required")
	}
	return version, nil
}
