package payloadcrypt

import (
	"encoding/base64"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// fuzzKey is a fixed key of the fuzz tests, so that a corpus entry found
// against it reproduces.
var fuzzKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// FuzzParseKeys reads any text as a key file: it never panics, a refusal is
// one line that never quotes a key, and what it accepts has a current key
// among its keys.
func FuzzParseKeys(f *testing.F) {
	for _, seed := range []string{
		"k1 " + fuzzKey, "k1 " + fuzzKey + " current\nk2 " + fuzzKey[:43], "# c\n\nk1 " + fuzzKey + "\nk1 " + fuzzKey,
		fuzzKey + " k1", "k1 " + fuzzKey + " current\nk2 " + fuzzKey + " current", "", "k1", "k1 !!!", "k1 " + fuzzKey + " now",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		keys, err := ParseKeys(text, "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), fuzzKey) {
				t.Errorf("refusal %q: more than one line, or a key quoted", err)
			}
			return
		}
		found := false
		for _, id := range keys.IDs() {
			found = found || id == keys.Current()
		}
		if !found {
			t.Errorf("current key %q is not among %v", keys.Current(), keys.IDs())
		}
	})
}

// FuzzDecode decodes any payload: it never panics, and what is not a
// payload this codec encrypted is refused or passed through, never turned
// into something else.
func FuzzDecode(f *testing.F) {
	keys, err := ParseKeys("k1 "+fuzzKey, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	c := New(keys, nil)
	good, err := c.ForProvider("DEMO").Encode([]*commonpb.Payload{{Metadata: map[string][]byte{converter.MetadataEncoding: []byte("json/plain")}, Data: []byte(`"x"`)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(Encoding), []byte("k1"), []byte("DEMO"), good[0].Data)
	f.Add([]byte(Encoding), []byte("k2"), []byte(""), good[0].Data)
	f.Add([]byte("json/plain"), []byte(""), []byte(""), []byte(`{"a":1}`))
	f.Add([]byte(Encoding), []byte("k1"), []byte("DEMO"), []byte{})
	f.Fuzz(func(t *testing.T, encoding, keyID, provider, data []byte) {
		p := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: encoding, MetadataKeyID: keyID, MetadataProvider: provider}, Data: data}
		out, err := c.Decode([]*commonpb.Payload{p})
		switch {
		case err != nil:
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("refusal of more than one line: %q", err)
			}
		case !Encrypted(p) && out[0] != p:
			t.Errorf("a plain payload was changed in decoding")
		}
	})
}
