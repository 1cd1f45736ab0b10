package config_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/platform/config"
)

type sample struct {
	Port    int           `env:"SAMPLE_PORT" envDefault:"8080"`
	Timeout time.Duration `env:"SAMPLE_TIMEOUT" envDefault:"5s"`
	Token   string        `env:"SAMPLE_TOKEN" secret:"true"`
	Nested  nested
}

type nested struct {
	Name string `env:"SAMPLE_NAME" envDefault:"orders"`
}

func (s sample) Validate() error {
	if s.Port <= 0 {
		return errors.New("SAMPLE_PORT must be positive")
	}
	return nil
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    sample
		wantErr string
	}{
		{name: "defaults", want: sample{Port: 8080, Timeout: 5 * time.Second, Nested: nested{Name: "orders"}}},
		{name: "overrides", env: map[string]string{"SAMPLE_PORT": "9000", "SAMPLE_NAME": "x"},
			want: sample{Port: 9000, Timeout: 5 * time.Second, Nested: nested{Name: "x"}}},
		{name: "unparsable value names the variable", env: map[string]string{"SAMPLE_TIMEOUT": "soon"}, wantErr: "SAMPLE_TIMEOUT"},
		{name: "validation failure names the variable", env: map[string]string{"SAMPLE_PORT": "-1"}, wantErr: "SAMPLE_PORT must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var got sample
			err := config.Load(&got)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDescribeMasksSecrets(t *testing.T) {
	t.Parallel()
	got := config.Describe(sample{Port: 1, Token: "hunter2", Nested: nested{Name: "n"}})
	assert.Equal(t, "********", got["SAMPLE_TOKEN"])
	assert.Equal(t, "1", got["SAMPLE_PORT"])
	assert.Equal(t, "n", got["SAMPLE_NAME"])
	assert.NotContains(t, got, "")
	empty := config.Describe(sample{})
	assert.Equal(t, "(unset)", empty["SAMPLE_TOKEN"])
}
