package auth_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orderflow/internal/platform/auth"
	"orderflow/internal/platform/web"
)

// FuzzBearerHeader sends arbitrary Authorization headers through Require. Whatever the header, the answer is
// 200 for the one subject the issuer signed for, or a 401 problem with a challenge and one of the fixed
// details: never another status, a panic, or a body that repeats the input. The seeds are in
// testdata/fuzz/FuzzBearerHeader, plus a valid token minted here, whose mutations exercise the signature and
// claim checks.
func FuzzBearerHeader(f *testing.F) {
	ti := newTestIssuer(f)
	e, _ := newEngine(ti.verifier(f))
	f.Add("Bearer " + mint(f, ti.issuer(), "c-fuzz"))
	f.Fuzz(func(t *testing.T, header string) {
		rec := call(e, "/me", header)
		switch rec.Code {
		case http.StatusOK:
			var p auth.Principal
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, "c-fuzz", p.Subject)
		case http.StatusUnauthorized:
			var p web.Problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Contains(t, []string{auth.DetailMissing, auth.DetailInvalid}, p.Detail)
			assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
		default:
			t.Fatalf("status %d for header %q: %s", rec.Code, header, rec.Body.String())
		}
	})
}
