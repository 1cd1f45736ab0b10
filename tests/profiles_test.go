package tests

import (
	"testing"
	"time"

	"orderflow/tests/harness"
)

// TestProfiles runs the same binaries through the core scenarios on every component profile that runs on this
// machine. Nothing in the Go code knows the profile: only the resources the sidecars load differ.
func TestProfiles(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		run  func(t *testing.T, s *saga)
	}{
		{"happy path", scenarioHappyPath},
		{"rejection", scenarioRejection},
		{"payment failure compensates", scenarioPaymentFailureCompensates},
		{"duplicate delivery has one effect", scenarioDuplicateDelivery},
		{"malformed event is dead-lettered", scenarioDeadLetter},
	}
	for _, profile := range harness.Profiles {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			s := startSaga(t, harness.Options{Profile: profile})
			t.Logf("%s: system ready in %s", profile, time.Since(start).Round(time.Millisecond))
			for _, sc := range scenarios {
				began := time.Now()
				t.Run(sc.name, func(t *testing.T) { sc.run(t, s) })
				t.Logf("%s / %s: %s", profile, sc.name, time.Since(began).Round(time.Millisecond))
			}
			s.verify(t)
		})
	}
}
