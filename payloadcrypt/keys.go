package payloadcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// The settings the keys come from. Exactly one of the two key settings may
// be set; with neither, payloads are written as they are (see Mode).
const (
	// KeysFileVar names a file of keys, one a line: "ID BASE64KEY", and
	// the word "current" after the key that encrypts.
	KeysFileVar = "OHO_PAYLOAD_KEYS_FILE"
	// KeysVar holds the same entries, separated by commas or newlines.
	KeysVar = "OHO_PAYLOAD_KEYS"
	// ModeVar is "required" (a program without keys refuses to start:
	// production) or "optional" (the default: without keys, payloads are
	// written in plain text, as before encryption existed).
	ModeVar = "OHO_PAYLOAD_ENCRYPTION"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// makeKey is how the messages tell people to make a key.
const makeKey = "make one with: head -c 32 /dev/urandom | base64"

// keyIDPattern is a key's ID: short enough that a key (43 or 44 characters
// of base64) written where its ID belongs is never taken for one, and so
// never quoted in a message.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// Keyring holds the payload keys: every key decrypts, the current one
// encrypts. It never shows a key's bytes, in messages or otherwise.
type Keyring struct {
	current string
	ids     []string
	aeads   map[string]cipher.AEAD
}

// Current is the ID of the key that encrypts.
func (k *Keyring) Current() string { return k.current }

// IDs are the IDs of every key, in the order they were given.
func (k *Keyring) IDs() []string { return slices.Clone(k.ids) }

// ParseKeys reads keys from text: one entry a line ("ID BASE64KEY",
// optionally followed by "current"); blank lines and lines starting with #
// are skipped. The entry marked current encrypts; when none is marked, the
// first does. source names where the text came from in messages, such as
// "OHO_PAYLOAD_KEYS_FILE (/etc/oho/payload-keys)". No message quotes a key.
func ParseKeys(text, source string) (*Keyring, error) {
	return parseEntries(strings.Split(text, "\n"), source, "line")
}

// parseEntries reads the entries, each named in messages by what ("line",
// "entry") and its number.
func parseEntries(entries []string, source, what string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	marked := 0
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		at := fmt.Sprintf("%s %s %d", source, what, i+1)
		words := strings.Fields(entry)
		if len(words) < 2 || len(words) > 3 {
			return nil, fmt.Errorf("%s: want \"ID BASE64KEY\" or \"ID BASE64KEY current\", got %d words", at, len(words))
		}
		id := words[0]
		if !keyIDPattern.MatchString(id) {
			// The ID is not quoted: a key written first would be.
			return nil, fmt.Errorf("%s: the first word must be the key's ID (up to 32 letters, digits, '.', '_' or '-'), then the key", at)
		}
		if len(words) == 3 && words[2] != "current" {
			return nil, fmt.Errorf("%s: only the word current may follow the key of %q", at, id)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%s: key ID %q is given twice", at, id)
		}
		secret, err := base64.StdEncoding.DecodeString(words[1])
		if err != nil {
			secret, err = base64.RawStdEncoding.DecodeString(words[1])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: the key of %q is not base64 (%s)", at, id, makeKey)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("%s: the key of %q is %d bytes; AES-256 needs %d (%s)", at, id, len(secret), KeySize, makeKey)
		}
		block, err := aes.NewCipher(secret)
		if err != nil {
			return nil, fmt.Errorf("%s: the key of %q: %w", at, id, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("%s: the key of %q: %w", at, id, err)
		}
		clear(secret)
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
		if len(words) == 3 {
			if marked++; marked > 1 {
				return nil, fmt.Errorf("%s: %q and %q are both marked current; mark one", at, k.current, id)
			}
			k.current = id
		}
	}
	if len(k.ids) == 0 {
		return nil, fmt.Errorf("%s holds no key (%s; lines \"ID BASE64KEY\")", source, makeKey)
	}
	if k.current == "" {
		k.current = k.ids[0]
	}
	return k, nil
}

// KeysFromEnv reads the keys the environment configures: the file
// KeysFileVar names, or the entries of KeysVar. It returns nil, and no
// error, when neither is set and ModeVar does not require keys.
func KeysFromEnv() (*Keyring, error) {
	return keysFrom(os.Getenv)
}

func keysFrom(getenv func(string) string) (*Keyring, error) {
	mode := strings.TrimSpace(getenv(ModeVar))
	if mode != "" && mode != "required" && mode != "optional" {
		return nil, fmt.Errorf("%s is %q: it must be required or optional", ModeVar, mode)
	}
	file, inline := strings.TrimSpace(getenv(KeysFileVar)), getenv(KeysVar)
	switch {
	case file != "" && strings.TrimSpace(inline) != "":
		return nil, fmt.Errorf("both %s and %s are set: set one", KeysFileVar, KeysVar)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			var pathErr *os.PathError
			if errors.As(err, &pathErr) {
				err = pathErr.Err
			}
			return nil, fmt.Errorf("%s: cannot read the payload keys from %s: %v", KeysFileVar, file, err)
		}
		if err := checkKeyFileMode(file); err != nil {
			return nil, err
		}
		return ParseKeys(string(b), fmt.Sprintf("%s (%s)", KeysFileVar, file))
	case strings.TrimSpace(inline) != "":
		return parseEntries(strings.FieldsFunc(inline, func(r rune) bool { return r == ',' || r == '\n' }), KeysVar, "entry")
	case mode == "required":
		return nil, fmt.Errorf("%s=required, but no payload keys are configured: set %s (a file of \"ID BASE64KEY\" lines) or %s", ModeVar, KeysFileVar, KeysVar)
	}
	return nil, nil
}

// checkKeyFileMode refuses a key file that others than its owner and group
// may read, or others than its owner may change: whoever reads it reads
// every history, and whoever writes it chooses the key new payloads are
// encrypted with. A file that its group may read is allowed, so that a file
// owned by root can be given to the programs' group (0440, root:oho);
// systemd's LoadCredential= hands out 0400 files of the service's own.
func checkKeyFileMode(file string) error {
	fi, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("%s: cannot read the payload keys from %s: %v", KeysFileVar, file, err)
	}
	if perm := fi.Mode().Perm(); perm&0o027 != 0 {
		return fmt.Errorf("%s: %s has mode %04o, so that others than its owner may read or change it, and with it every history: chmod 600 it (0640 for a group of readers; in Kubernetes a secret's defaultMode 0400)",
			KeysFileVar, file, perm)
	}
	return nil
}
