package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Secret prefixes say what a secret opens, so that a secret pasted in the
// wrong place is refused before the database is asked, and so that secret
// scanners can find a leaked token.
const (
	// TokenPrefix starts an API token's secret.
	TokenPrefix = "oho_"
	// LinkPrefix starts the secret of a link to set a password.
	LinkPrefix = "ohl_"
)

// secretLen is the length of a secret after its prefix: 32 random bytes in
// unpadded base64url.
var secretLen = base64.RawURLEncoding.EncodedLen(32)

// NewSecret returns a new random secret with the prefix, and its hash.
// Only the hash is stored: 32 random bytes cannot be guessed, so a fast
// hash (SHA-256) keeps them safe at rest, unlike a password, which needs
// Argon2id.
func NewSecret(prefix string) (secret, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the stored form of a secret: its SHA-256 in hex.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// WellFormed reports whether s can be a secret with the prefix: the right
// prefix, length and alphabet.
func WellFormed(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != secretLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// NewID returns a random identifier with the prefix and n random bytes in
// hex: "tok_3f9a…" for a token, "s_…" for a session's reference.
func NewID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
