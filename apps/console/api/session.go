package api

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"orderflow/apps/console/board"
	"orderflow/apps/console/login"
	"orderflow/internal/apperr"
	"orderflow/internal/platform/logging"
)

// The cookies. The __Host- prefix makes the browser insist on Secure, Path=/ and no Domain, so no other
// host (or plain-http page) can set or overwrite them; browsers treat http://localhost and 127.0.0.1 as
// secure, so they work locally too. SameSite=Lax: sent on the top-level navigation back from the identity
// provider, never on a cross-site POST.
const (
	sessionCookie = "__Host-orderflow-session"
	loginCookie   = "__Host-orderflow-login"
)

const sessionKey = "console_session"

func setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// sessionOf is the session authenticate found, or nil.
func sessionOf(c *gin.Context) *login.Session {
	if s, ok := c.Get(sessionKey); ok {
		if sess, ok := s.(login.Session); ok {
			return &sess
		}
	}
	return nil
}

func filterOf(s *login.Session) board.Filter {
	return board.Filter{Subject: s.Subject, All: s.Admin()}
}

// authenticate lets a request with a live session through; a page without one is sent to sign in (and back
// here afterwards), anything else is refused.
func (h *handlers) authenticate(c *gin.Context) {
	cookie, _ := c.Cookie(sessionCookie)
	sess, ok, err := h.Sessions.Find(c.Request.Context(), cookie)
	if err != nil {
		h.fail(c, apperr.Wrap(apperr.Unavailable, err, "sessions cannot be read right now; retry in a moment"))
		return
	}
	if !ok {
		if c.Request.Method == http.MethodGet && !strings.HasPrefix(c.Request.URL.Path, "/live/") {
			c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		}
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusUnauthorized, "sign in first: /login")
		c.Abort()
		return
	}
	c.Set(sessionKey, sess)
	c.Request = c.Request.WithContext(logging.With(c.Request.Context(), map[string]any{"subject": sess.Subject}))
	c.Next()
}

// csrf refuses a form whose csrf field is not the session's token, and a cross-origin form whatever it
// carries (net/http's CrossOriginProtection reads Sec-Fetch-Site and Origin, which every current browser
// sends). The token covers browsers that send neither.
func (h *handlers) csrf(c *gin.Context) {
	sess := sessionOf(c)
	if err := http.NewCrossOriginProtection().Check(c.Request); err != nil {
		h.fail(c, apperr.New(apperr.Forbidden, "this form was sent from another site"))
		return
	}
	if sess == nil || subtle.ConstantTimeCompare([]byte(c.PostForm("csrf")), []byte(sess.CSRF)) != 1 {
		h.fail(c, apperr.New(apperr.Forbidden, "this form has expired or was not sent from this console: reload the page and try again"))
		return
	}
	c.Next()
}

func (h *handlers) requireAdmin(c *gin.Context) {
	if s := sessionOf(c); s == nil || !s.Admin() {
		h.fail(c, errNotAdmin)
		return
	}
	c.Next()
}

// safeNext keeps a post-login destination on this console: a path, never another site ("//evil", "/\evil").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// login starts the authorization code flow: the login in progress is kept server-side, its state in a
// cookie, and the browser goes to the identity provider.
func (h *handlers) login(c *gin.Context) {
	securityHeaders(c)
	pending, authURL, err := h.Login.Start(c.Request.Context(), safeNext(c.Query("next")), h.Now())
	if err == nil {
		err = h.Sessions.Remember(c.Request.Context(), pending)
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	setCookie(c, loginCookie, pending.State, int(login.PendingTTL.Seconds()))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, authURL)
}

// callback finishes the flow: the state must be this browser's login, the code is exchanged (with the PKCE
// verifier) and the tokens checked, and the session starts with a fresh cookie.
func (h *handlers) callback(c *gin.Context) {
	securityHeaders(c)
	ctx := c.Request.Context()
	if e := c.Query("error"); e != "" {
		setCookie(c, loginCookie, "", -1)
		h.fail(c, apperr.New(apperr.Forbidden, "the identity provider did not sign you in (%s): %s", e, c.Query("error_description")))
		return
	}
	state, _ := c.Cookie(loginCookie)
	pending, err := h.Sessions.Recall(ctx, state, c.Query("state"))
	setCookie(c, loginCookie, "", -1)
	if err != nil {
		h.fail(c, err)
		return
	}
	id, err := h.Login.Finish(ctx, pending, c.Query("code"))
	if err != nil {
		h.fail(c, err)
		return
	}
	cookie, sess, err := h.Sessions.Open(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	logging.From(ctx).WithField("subject", sess.Subject).WithField("roles", sess.Roles).Info("signed in")
	setCookie(c, sessionCookie, cookie, int(sess.Expiry.Sub(h.Now()).Seconds()))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, safeNext(pending.Next))
}

// logout ends the session here. The identity provider's own session stays (signing in again may not ask
// anything): ending that is the provider's business.
func (h *handlers) logout(c *gin.Context) {
	cookie, _ := c.Cookie(sessionCookie)
	if err := h.Sessions.Close(c.Request.Context(), cookie); err != nil {
		h.fail(c, err)
		return
	}
	setCookie(c, sessionCookie, "", -1)
	c.Set(sessionKey, nil)
	h.render(c, http.StatusOK, "error", page{Title: "Signed out", Data: map[string]string{
		"Heading": "Signed out", "Message": "You are signed out of the console."}})
}
