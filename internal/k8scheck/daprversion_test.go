package k8scheck

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The annotation keys and CRD types the checks compile against come from the github.com/dapr/dapr module
// go.mod pins; they must be those of the daprd the sidecars run, which tools/daprd.sh provisions (and
// k8s/README.md installs as the control plane).
func TestDaprModuleMatchesDaprdScript(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		require.NoError(t, err)
		return string(b)
	}
	script := regexp.MustCompile(`(?m)^readonly DAPR_VERSION="([^"]+)"$`).FindStringSubmatch(read("tools/daprd.sh"))
	require.NotNil(t, script, "tools/daprd.sh sets no readonly DAPR_VERSION=\"x.y.z\"")

	goMod := read("go.mod")
	required := regexp.MustCompile(`(?m)^(?:require)?\s*github\.com/dapr/dapr (v\S+)`).FindStringSubmatch(goMod)
	require.NotNil(t, required, "go.mod requires no github.com/dapr/dapr")
	assert.NotRegexp(t, `(?m)^(?:replace)?\s*github\.com/dapr/dapr(?: v\S+)? =>`, goMod, "github.com/dapr/dapr is replaced; the checks would not read the released annotations")
	assert.Equal(t, "v"+script[1], required[1], "go.mod's github.com/dapr/dapr and tools/daprd.sh's DAPR_VERSION")
}
