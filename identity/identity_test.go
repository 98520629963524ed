package identity

import (
	"errors"
	"strings"
	"testing"
)

// referenceHash was made by the reference implementation of Argon2 (the
// argon2 command of Debian's package argon2):
//
//	echo -n "correct horse battery" | argon2 saltsaltsaltsalt -id -t 2 -k 19456 -p 1 -l 32 -e
const referenceHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM"

func TestVerifyKnownAnswer(t *testing.T) {
	for _, c := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
	} {
		got, err := Verify(referenceHash, c.password)
		if err != nil || got != c.want {
			t.Errorf("Verify(reference, %q): got %v, %v; want %v", c.password, got, err, c.want)
		}
	}
	p, salt, key, err := Decode(referenceHash)
	if err != nil || p != OWASP || string(salt) != "saltsaltsaltsalt" || len(key) != 32 {
		t.Errorf("Decode(reference): got %+v, salt %q, %d-byte key, %v", p, salt, len(key), err)
	}
}

func TestHashRoundTrip(t *testing.T) {
	h, err := Hash("a long enough password", OWASP)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("got %q, want a PHC string with OWASP's parameters", h)
	}
	if ok, err := Verify(h, "a long enough password"); !ok || err != nil {
		t.Errorf("the password does not verify against its own hash: %v %v", ok, err)
	}
	if ok, _ := Verify(h, "another password"); ok {
		t.Errorf("another password verifies")
	}
	h2, _ := Hash("a long enough password", OWASP)
	if h2 == h {
		t.Errorf("two hashes of one password are the same: the salt is not random")
	}
	// Raised parameters are read back from the hash.
	strong := Params{Memory: 32 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
	h3, _ := Hash("x", strong)
	if p, _, _, err := Decode(h3); err != nil || p != strong {
		t.Errorf("Decode: got %+v, %v; want %+v", p, err, strong)
	}
	if ok, err := Verify(h3, "x"); !ok || err != nil {
		t.Errorf("a hash with other parameters does not verify: %v %v", ok, err)
	}
}

func TestMalformedHashes(t *testing.T) {
	for _, h := range []string{
		"",
		"plain text",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0c2FsdA$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM",
		"$argon2id$v=19$m=19456,t=2,x=1$c2FsdHNhbHRzYWx0c2FsdA$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM",
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$iPOQ5f2O21FsjnBvo1AiFcDuSXciCnKUrXFO+yfgNoM",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2hvcnQ",
	} {
		if ok, err := Verify(h, "correct horse battery"); ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q): got %v, %v; want ErrMalformedHash", h, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, c := range []struct {
		password, says string
	}{
		{"correct horse battery", ""},
		{"short", "at least 12 characters long (it has 5)"},
		{"ääääääääääää", ""},
		{strings.Repeat("x", 257), "at most 256"},
		{"north.nurse1", ""},
		{"North.Nurse.North", "may not be the person's own ID"},
		{"twelve chars\x00", "not text"},
		{"\xff\xfe twelve chars", "not text"},
	} {
		err := CheckPassword("north.nurse.north", c.password)
		switch {
		case c.says == "" && err != nil:
			t.Errorf("CheckPassword(%q): got %v, want it accepted", c.password, err)
		case c.says != "" && (err == nil || !strings.Contains(err.Error(), c.says)):
			t.Errorf("CheckPassword(%q): got %v, want it refused saying %q", c.password, err, c.says)
		}
	}
}

func TestSecrets(t *testing.T) {
	s, h := NewSecret(TokenPrefix)
	if !WellFormed(TokenPrefix, s) || WellFormed(LinkPrefix, s) || HashSecret(s) != h || len(h) != 64 {
		t.Errorf("secret %q, hash %q", s, h)
	}
	if s2, _ := NewSecret(TokenPrefix); s2 == s {
		t.Errorf("two secrets are the same")
	}
	for _, bad := range []string{"", "oho_", s + "x", s[:len(s)-1], strings.Replace(s, "oho_", "ohl_", 1), "oho_" + strings.Repeat("!", 43)} {
		if WellFormed(TokenPrefix, bad) {
			t.Errorf("WellFormed(%q) = true", bad)
		}
	}
	if id := NewID("tok_", 5); !strings.HasPrefix(id, "tok_") || len(id) != 14 {
		t.Errorf("NewID: got %q", id)
	}
}
