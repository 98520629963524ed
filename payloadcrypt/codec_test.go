package payloadcrypt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// newKey returns a fresh random key in base64, as an operator makes one.
func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func mustKeys(t *testing.T, text string) *Keyring {
	t.Helper()
	k, err := ParseKeys(text, "test keys")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// providerOf is the scope of the tests: workflows "wf/<provider>/...".
func providerOf(workflowID string) string {
	rest, ok := strings.CutPrefix(workflowID, "wf/")
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, "/")
	return p
}

const secretText = "Supervision gaps at North Campus breaks"

func plainPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"text": secretText})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	c := New(mustKeys(t, "k1 "+newKey(t)), providerOf).ForProvider("DEMO")
	plain := plainPayload(t)
	enc, err := c.Encode([]*commonpb.Payload{plain, nil})
	if err != nil {
		t.Fatal(err)
	}
	if enc[1] != nil {
		t.Errorf("a nil payload was encoded as %v", enc[1])
	}
	label, ok := LabelOf(enc[0])
	if !ok || label != (Label{KeyID: "k1", Provider: "DEMO"}) {
		t.Errorf("encoded payload's label: got %+v (encrypted %v), want key k1 and provider DEMO", label, ok)
	}
	if bytes.Contains(enc[0].Data, []byte("Supervision")) || bytes.Contains(enc[0].Data, plain.Data) {
		t.Errorf("the encrypted payload holds the plain text")
	}
	if len(enc[0].Metadata) != 3 {
		t.Errorf("encrypted payload's metadata %v: want only the encoding, the key ID and the provider", enc[0].Metadata)
	}
	again, err := c.Encode(enc[:1])
	if err != nil || !proto.Equal(again[0], enc[0]) {
		t.Errorf("encoding an encrypted payload again changed it (%v)", err)
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(dec[0], plain) || dec[1] != nil {
		t.Errorf("decoded %v, want %v and nil", dec, plain)
	}
	// Unbound: no provider in the metadata, and it still decodes.
	unbound, err := New(c.Keys(), nil).Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := LabelOf(unbound[0]); l.Provider != "" {
		t.Errorf("a codec without a provider bound the payload to %q", l.Provider)
	}
	if dec, err := c.Decode(unbound); err != nil || !proto.Equal(dec[0], plain) {
		t.Errorf("decoding an unbound payload: %v", err)
	}
}

// TestRotation encrypts with key 1, rotates to key 2 (keeping key 1), reads
// old and new, and checks what is written after the rotation uses key 2.
func TestRotation(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	before := New(mustKeys(t, "k1 "+k1), nil)
	old, err := before.Encode([]*commonpb.Payload{plainPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The new key goes first or is marked current; the old one stays to read.
	for _, keys := range []string{"k2 " + k2 + "\nk1 " + k1, "# rotated\nk1 " + k1 + "\n\nk2 " + k2 + " current\n"} {
		after := New(mustKeys(t, keys), nil)
		if got := after.Keys().Current(); got != "k2" {
			t.Fatalf("current key: got %s, want k2", got)
		}
		fresh, err := after.Encode([]*commonpb.Payload{plainPayload(t)})
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := LabelOf(fresh[0]); l.KeyID != "k2" {
			t.Errorf("after the rotation a payload was encrypted with %q, want k2", l.KeyID)
		}
		both, err := after.Decode([]*commonpb.Payload{old[0], fresh[0]})
		if err != nil {
			t.Fatalf("reading old and new after the rotation: %v", err)
		}
		for i, p := range both {
			if !proto.Equal(p, plainPayload(t)) {
				t.Errorf("payload %d after the rotation: got %v", i, p)
			}
		}
		// A program still on key 1 alone cannot read what key 2 wrote,
		// and says which key it needs.
		_, err = before.Decode(fresh)
		if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `key "k2"`) || !strings.Contains(err.Error(), "(k1)") ||
			!strings.Contains(err.Error(), KeysFileVar) {
			t.Errorf("decoding a key-2 payload with key 1 only: got %v, want the unknown key named with the keys configured and the setting", err)
		}
	}
}

func TestTamperedPayloadsAreRefused(t *testing.T) {
	c := New(mustKeys(t, "k1 "+newKey(t)+"\nk2 "+newKey(t)), nil).ForProvider("DEMO")
	good, err := c.Encode([]*commonpb.Payload{plainPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	for name, tamper := range map[string]func(p *commonpb.Payload){
		"a bit of the ciphertext flipped": func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 1 },
		"the tag cut off":                 func(p *commonpb.Payload) { p.Data = p.Data[:len(p.Data)-1] },
		"relabelled for another provider": func(p *commonpb.Payload) { p.Metadata[MetadataProvider] = []byte("OTHER") },
		"its provider removed":            func(p *commonpb.Payload) { delete(p.Metadata, MetadataProvider) },
		"its key ID changed to another":   func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k2") },
		"too short to hold a nonce":       func(p *commonpb.Payload) { p.Data = p.Data[:5] },
	} {
		t.Run(name, func(t *testing.T) {
			p := proto.Clone(good[0]).(*commonpb.Payload)
			tamper(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			if !errors.Is(err, ErrDoesNotDecrypt) || !strings.Contains(err.Error(), "altered") {
				t.Errorf("got %v, want a refusal saying the payload does not decrypt", err)
			}
		})
	}
	noID := proto.Clone(good[0]).(*commonpb.Payload)
	delete(noID.Metadata, MetadataKeyID)
	if _, err := c.Decode([]*commonpb.Payload{noID}); err == nil || !strings.Contains(err.Error(), "names no key") {
		t.Errorf("a payload without a key ID: got %v", err)
	}
}

func TestUnknownKeyAndNoKeys(t *testing.T) {
	enc, err := New(mustKeys(t, "retired "+newKey(t)), nil).Encode([]*commonpb.Payload{plainPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(mustKeys(t, "k7 "+newKey(t)), nil).Decode(enc)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `key "retired", which is not among the payload keys configured (k7)`) {
		t.Errorf("unknown key: got %v", err)
	}
	// Without keys: plain payloads pass both ways, an encrypted one is
	// refused saying what to set.
	plain := New(nil, providerOf)
	if plain.Encrypting() {
		t.Error("a codec without keys says it encrypts")
	}
	out, err := plain.Encode([]*commonpb.Payload{plainPayload(t)})
	if err != nil || Encrypted(out[0]) {
		t.Errorf("a codec without keys encoded %v (%v)", out[0], err)
	}
	if out, err := plain.Decode([]*commonpb.Payload{plainPayload(t)}); err != nil || !proto.Equal(out[0], plainPayload(t)) {
		t.Errorf("a plain payload did not pass through decoding: %v", err)
	}
	_, err = plain.Decode(enc)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "no payload keys are configured: set "+KeysFileVar) {
		t.Errorf("decoding without keys: got %v", err)
	}
}

// TestBoundToTheWorkflowsProvider encodes through the data and failure
// converters as the SDK does for a workflow: bound to its provider.
func TestBoundToTheWorkflowsProvider(t *testing.T) {
	c := New(mustKeys(t, "k1 "+newKey(t)), providerOf)
	dc := c.DataConverter()
	for _, tc := range []struct {
		sc   converter.SerializationContext
		want string
	}{
		{converter.WorkflowSerializationContext{Namespace: "default", WorkflowID: "wf/DEMO/2027"}, "DEMO"},
		{converter.ActivitySerializationContext{Namespace: "default", WorkflowID: "wf/ACME/2027/unit/N", ActivityType: "CompleteTask", IsLocal: true}, "ACME"},
		{converter.ActivitySerializationContext{Namespace: "default", ActivityType: "Standalone"}, ""},
		{converter.WorkflowSerializationContext{Namespace: "default", WorkflowID: "bench-123"}, ""},
		{converter.NexusSerializationContext{Endpoint: "e"}, ""},
	} {
		bound := converter.WithDataConverterSerializationContext(dc, tc.sc)
		p, err := bound.ToPayload(map[string]string{"text": secretText})
		if err != nil {
			t.Fatal(err)
		}
		if l, ok := LabelOf(p); !ok || l.Provider != tc.want {
			t.Errorf("%T %+v: payload bound to %q (encrypted %v), want %q", tc.sc, tc.sc, l.Provider, ok, tc.want)
		}
		var got map[string]string
		if err := dc.FromPayload(p, &got); err != nil || got["text"] != secretText {
			t.Errorf("reading it back without a context: %v %v", got, err)
		}

		fc := converter.WithFailureConverterSerializationContext(c.FailureConverter(), tc.sc)
		f := fc.ErrorToFailure(temporal.NewApplicationError("the finding "+secretText+" has no section", "InvalidOutcome"))
		if strings.Contains(f.Message, secretText) || f.StackTrace != "" {
			t.Errorf("a failure's message stayed in plain text: %q", f.Message)
		}
		if l, ok := LabelOf(f.EncodedAttributes); !ok || l.Provider != tc.want {
			t.Errorf("%T: the failure's attributes bound to %q (encrypted %v), want %q", tc.sc, l.Provider, ok, tc.want)
		}
		var appErr *temporal.ApplicationError
		err = c.FailureConverter().FailureToError(f)
		if !errors.As(err, &appErr) || appErr.Type() != "InvalidOutcome" || !strings.Contains(appErr.Error(), secretText) {
			t.Errorf("the failure read back: got %v, want the refusal's type and message", err)
		}
	}
	// Without keys, failures are written as before: message in the clear.
	f := New(nil, providerOf).FailureConverter().ErrorToFailure(errors.New("plain refusal"))
	if f.Message != "plain refusal" || f.EncodedAttributes != nil {
		t.Errorf("without keys a failure was encoded: %+v", f)
	}
}

// TestKeySettings reads keys from the file, the variable and neither, and
// checks each mistake gets one line that names the setting and never quotes
// a key.
func TestKeySettings(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	// A key without padding whose base64 has no '+' or '/' looks like an
	// ID but for its length.
	rawKey := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mode := func(p string, m os.FileMode) string {
		if err := os.Chmod(p, m); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good", "# OHO payload keys\nold "+k1+"\nnew "+k2+" current\n")
	env := func(vars ...string) func(string) string {
		return func(name string) string {
			for i := 0; i+1 < len(vars); i += 2 {
				if vars[i] == name {
					return vars[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name    string
		vars    []string
		current string // "" for no keys
		want    string // an error containing this
	}{
		{"nothing set", nil, "", ""},
		{"optional, nothing set", []string{ModeVar, "optional"}, "", ""},
		{"the file", []string{KeysFileVar, good}, "new", ""},
		{"the file, required", []string{KeysFileVar, good, ModeVar, "required"}, "new", ""},
		{"the variable", []string{KeysVar, "a " + k1 + ", b " + k2}, "a", ""},
		{"the variable, newlines", []string{KeysVar, "a " + k1 + "\nb " + k2 + " current\n"}, "b", ""},
		{"required without keys", []string{ModeVar, "required"}, "", ModeVar + "=required, but no payload keys are configured: set " + KeysFileVar},
		{"an unknown mode", []string{ModeVar, "always"}, "", ModeVar + ` is "always": it must be required or optional`},
		{"both", []string{KeysFileVar, good, KeysVar, "a " + k1}, "", "both " + KeysFileVar + " and " + KeysVar + " are set"},
		{"a missing file", []string{KeysFileVar, filepath.Join(dir, "none")}, "", KeysFileVar + ": cannot read the payload keys from " + filepath.Join(dir, "none") + ": no such file or directory"},
		{"an empty file", []string{KeysFileVar, file("empty", "# nothing yet\n\n")}, "", "holds no key"},
		{"a short key", []string{KeysFileVar, file("short", "k1 "+short)}, "", `line 1: the key of "k1" is 16 bytes; AES-256 needs 32 (make one with: head -c 32 /dev/urandom | base64)`},
		{"not base64", []string{KeysFileVar, file("b64", "\nk1 "+k1[:20]+"!!"+k1[22:])}, "", `line 2: the key of "k1" is not base64`},
		{"the key first", []string{KeysFileVar, file("swapped", k1+" k1")}, "", "line 1: the first word must be the key's ID"},
		{"the key first, unpadded", []string{KeysFileVar, file("swapped-raw", rawKey+" k1")}, "", "line 1: the first word must be the key's ID"},
		{"a key alone", []string{KeysVar, k1}, "", KeysVar + ` entry 1: want "ID BASE64KEY" or "ID BASE64KEY current", got 1 words`},
		{"a word after the key", []string{KeysFileVar, file("word", "k1 "+k1+" now")}, "", `line 1: only the word current may follow the key of "k1"`},
		{"an ID twice", []string{KeysFileVar, file("twice", "k1 "+k1+"\nk1 "+k2)}, "", `line 2: key ID "k1" is given twice`},
		{"two current", []string{KeysFileVar, file("current", "a "+k1+" current\nb "+k2+" current")}, "", `line 2: "a" and "b" are both marked current`},
		{"readable by everyone", []string{KeysFileVar, mode(file("open", "k1 "+k1), 0o644)}, "", "has mode 0644, so that others than its owner may read or change it"},
		{"writable by the group", []string{KeysFileVar, mode(file("group-w", "k1 "+k1), 0o660)}, "", "has mode 0660"},
		{"readable by the group", []string{KeysFileVar, mode(file("group-r", "k1 "+k1), 0o440)}, "k1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := keysFrom(env(tc.vars...))
			if tc.want != "" {
				switch {
				case err == nil:
					t.Fatalf("got keys, want an error saying %q", tc.want)
				case !strings.Contains(err.Error(), tc.want):
					t.Errorf("got %q, want it to say %q", err, tc.want)
				case strings.Contains(err.Error(), "\n"):
					t.Errorf("a message of more than one line: %q", err)
				}
				for _, k := range []string{k1, k2, short, k1[:20], rawKey} {
					if strings.Contains(err.Error(), k) {
						t.Errorf("the message quotes a key: %q", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.current == "" && keys != nil:
				t.Errorf("got keys %v, want none", keys.IDs())
			case tc.current != "" && (keys == nil || keys.Current() != tc.current):
				t.Errorf("got %v, want current key %s", keys, tc.current)
			}
		})
	}
	// FromEnv reads the same settings.
	t.Setenv(KeysFileVar, good)
	t.Setenv(KeysVar, "")
	t.Setenv(ModeVar, "")
	c, err := FromEnv(providerOf)
	if err != nil || !c.Encrypting() || fmt.Sprint(c.Keys().IDs()) != "[old new]" {
		t.Errorf("FromEnv: got %v, %v", c, err)
	}
}

// BenchmarkEncodeDecode encrypts and decrypts one payload the size of an
// evaluation with a few findings (2 KiB), as a completion's Update does.
func BenchmarkEncodeDecode(b *testing.B) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		b.Fatal(err)
	}
	keys, err := ParseKeys("k1 "+base64.StdEncoding.EncodeToString(raw), "bench")
	if err != nil {
		b.Fatal(err)
	}
	c := New(keys, nil).ForProvider("DEMO")
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"text": strings.Repeat(secretText+". ", 50)})
	if err != nil {
		b.Fatal(err)
	}
	in := []*commonpb.Payload{p}
	b.SetBytes(int64(len(p.Data)))
	for b.Loop() {
		enc, err := c.Encode(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentUse encodes and decodes from many goroutines at once, as a
// worker's workflow and activity tasks do with one codec (run it with -race).
func TestConcurrentUse(t *testing.T) {
	c := New(mustKeys(t, "k1 "+newKey(t)), providerOf)
	dc := c.DataConverter()
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			bound := converter.WithDataConverterSerializationContext(dc, converter.WorkflowSerializationContext{WorkflowID: fmt.Sprintf("wf/P%d/2027", i)})
			for range 50 {
				p, err := bound.ToPayload(secretText)
				if err != nil {
					errs <- err
					return
				}
				var got string
				if err := dc.FromPayload(p, &got); err != nil || got != secretText {
					errs <- fmt.Errorf("read back %q: %v", got, err)
					return
				}
				if l, _ := LabelOf(p); l.Provider != fmt.Sprintf("P%d", i) {
					errs <- fmt.Errorf("bound to %q, want P%d", l.Provider, i)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
