// Package mask hides secrets — license keys and tokens — before they reach a
// log line, an event message or an API answer. It depends on the standard
// library only, so every package can use it.
package mask

import (
	"strings"
	"unicode/utf8"
)

// Hidden is what a secret too short to show any part of becomes.
const Hidden = "****"

// Key masks a license key: its first 4 and last 4 characters joined by "…"
// ("ABCD…WXYZ"). A key of 8 characters or fewer is fully hidden ("****"), and
// the empty key stays empty. Characters are runes, so a UTF-8 key is never cut
// inside a character.
func Key(key string) string { return ends(key, 8, 4) }

// Token masks a verification token (a JWT or session string). Tokens are
// bearer credentials, so far less is shown than of a key: only the last 4
// characters of a token longer than 16 ("****…wxyz"); a shorter one is fully
// hidden. The empty token stays empty.
func Token(tok string) string { return ends(tok, 16, 0) }

// ends shows the first head and the last 4 runes of a secret longer than
// hideUpTo runes, joined by "…" (Hidden stands for a head of 0); a shorter
// secret is Hidden, the empty one stays empty.
func ends(secret string, hideUpTo, head int) string {
	if secret == "" {
		return ""
	}
	n := utf8.RuneCountInString(secret)
	if n <= hideUpTo {
		return Hidden
	}
	r := []rune(secret)
	shown := Hidden
	if head > 0 {
		shown = string(r[:head])
	}
	return shown + "…" + string(r[n-4:])
}

// minRedact is the shortest secret Redact replaces: shorter strings occur in
// ordinary text by chance and hiding them would mangle messages.
const minRedact = 4

// Redact returns s with every occurrence of each secret replaced by its masked
// form (Key). Use it on text that may echo a secret, such as a server's error
// message. Secrets shorter than 4 bytes are left alone.
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < minRedact || !strings.Contains(s, sec) {
			continue
		}
		s = strings.ReplaceAll(s, sec, Key(sec))
	}
	return s
}
