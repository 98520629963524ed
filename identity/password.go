// Package identity holds the parts of logging in that need no storage: the
// Argon2id hashing of passwords and its PHC string, the password policy,
// and the random secrets of API tokens, invitation links and session
// references with their hashes. The service keeps what they produce.
package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are the Argon2id parameters of a hash: memory in KiB, passes
// (time), lanes (threads), and the lengths of salt and key in bytes.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// OWASP are the parameters OWASP's Password Storage Cheat Sheet recommends
// for Argon2id (19 MiB, 2 passes, 1 lane), with a 16-byte salt and a
// 32-byte key. They take some tens of milliseconds on a server core, which a
// login can afford and a guesser cannot.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// b64 is the base64 of PHC strings: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// Hash hashes a password with Argon2id and a fresh random salt, and returns
// the PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func Hash(password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading a salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrMalformedHash is the error of a stored hash that is no Argon2id PHC
// string this package can check.
var ErrMalformedHash = errors.New("not an argon2id hash")

// Decode reads a PHC string back into its parameters, salt and key, so that
// a hash made with older parameters can still be checked after they are
// raised.
func Decode(phc string) (Params, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("%w: version %q", ErrMalformedHash, parts[2])
	}
	var p Params
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, fmt.Errorf("%w: parameter %q", ErrMalformedHash, kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, fmt.Errorf("%w: parameter %q", ErrMalformedHash, kv)
			}
			p.Threads = uint8(n)
		default:
			return Params{}, nil, nil, fmt.Errorf("%w: parameter %q", ErrMalformedHash, kv)
		}
	}
	// Bounds keep a corrupt or hostile hash from costing the server more
	// than a login should: at most 1 GiB and 10 passes.
	if p.Memory < 8 || p.Memory > 1<<20 || p.Time < 1 || p.Time > 10 || p.Threads < 1 {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, fmt.Errorf("%w: salt", ErrMalformedHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return Params{}, nil, nil, fmt.Errorf("%w: key", ErrMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// Verify reports whether the password is the one the PHC string was made
// from, comparing in constant time. An error means the hash is malformed.
func Verify(phc, password string) (bool, error) {
	p, salt, key, err := Decode(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// dummy is a hash of nothing anyone types, checked when there is no real
// hash to check (an unknown person, an account without a password), so that
// such a login costs the same time as a wrong password.
var dummy = func() string {
	h, err := Hash("\x00 no password", OWASP)
	if err != nil {
		panic(err)
	}
	return h
}()

// SpendVerify does the work of a verification that cannot succeed.
func SpendVerify(password string) {
	_, _ = Verify(dummy, password)
}

// Password policy.
const (
	MinPassword = 12
	MaxPassword = 256
)

// CheckPassword applies the password policy: 12 to 256 characters of text,
// not the person's own ID. The error names the rule.
func CheckPassword(person, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password) || strings.ContainsRune(password, 0):
		return errors.New("the password contains characters that are not text")
	case n < MinPassword:
		return fmt.Errorf("the password must be at least %d characters long (it has %d)", MinPassword, n)
	case n > MaxPassword:
		return fmt.Errorf("the password may be at most %d characters long", MaxPassword)
	case strings.EqualFold(strings.TrimSpace(password), person):
		return errors.New("the password may not be the person's own ID")
	}
	return nil
}
