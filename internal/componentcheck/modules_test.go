package componentcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequiredVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		goMod   string
		want    string
		wantErr string
	}{
		{
			name:  "require block",
			goMod: "module m\n\nrequire (\n\tgithub.com/a/b v1.0.0\n\tgithub.com/dapr/components-contrib v1.18.0-rc.2\n)\n",
			want:  "v1.18.0-rc.2",
		},
		{
			name:  "single-line require with a comment",
			goMod: "module m\nrequire github.com/dapr/components-contrib v1.2.3 // indirect\n",
			want:  "v1.2.3",
		},
		{
			name:  "commented-out replace is ignored",
			goMod: "module m\nrequire github.com/dapr/components-contrib v1.2.3\n// replace github.com/dapr/components-contrib => ../components-contrib\n",
			want:  "v1.2.3",
		},
		{
			name:    "a module whose path only starts the same does not count",
			goMod:   "module m\nrequire github.com/dapr/components-contrib-extra v9.9.9\n",
			wantErr: "github.com/dapr/components-contrib is not required",
		},
		{
			name:    "replaced module",
			goMod:   "module m\nrequire github.com/dapr/components-contrib v1.2.3\nreplace (\n\tgithub.com/dapr/components-contrib => ../cc\n)\n",
			wantErr: "is replaced",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := requiredVersion([]byte(tt.goMod), contribModule)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLocateModules(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)

	assert.Equal(t, DaprVersion, cat.DaprVersion)
	goMod, err := os.ReadFile(filepath.Join(cat.DaprDir, "go.mod"))
	require.NoError(t, err)
	want, err := requiredVersion(goMod, contribModule)
	require.NoError(t, err)
	assert.Equal(t, want, cat.ContribVersion, "the components-contrib version is the one dapr's go.mod pins")
	assert.FileExists(t, filepath.Join(cat.ContribDir, "component-metadata-schema.json"))
	assert.DirExists(t, filepath.Join(cat.DaprDir, registryDir))
}

// The checker must read the definitions of the daprd the project runs, which tools/daprd.sh provisions.
func TestDaprVersionMatchesDaprdScript(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile(filepath.Join("..", "..", "tools", "daprd.sh"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^readonly DAPR_VERSION="([^"]+)"$`).FindSubmatch(script)
	require.NotNil(t, m, "tools/daprd.sh sets no readonly DAPR_VERSION=\"x.y.z\"")
	assert.Equal(t, "v"+string(m[1]), DaprVersion, "DaprVersion and tools/daprd.sh's DAPR_VERSION")
}
