// Package payloadcrypt encrypts the payloads OHO's programs hand to Temporal
// — workflow and activity inputs and results, Update requests and outcomes,
// query results, markers, memos, and the messages of failures — with
// AES-256-GCM, so that what staff write (findings, feedback, comments) rests
// in Temporal's history as ciphertext wherever that server or cloud runs.
//
// A Codec is a Temporal converter.PayloadCodec. It encrypts every payload
// with the current key and writes the key's ID into the payload's metadata;
// it decrypts with whichever configured key the payload names, so keys
// rotate by adding a new current key and keeping the old ones for as long as
// histories encrypted with them are kept. Payloads without the encryption
// marker (histories written before encryption) pass through unchanged.
//
// Each payload is also bound to the provider whose workflow it belongs to:
// the SDK tells the codec the workflow ID it encodes for (a serialization
// context), the codec derives the provider from it (the scope function
// given to New) and writes the provider's code into the payload's metadata,
// authenticated as GCM's additional data together with the key ID. So
// whoever holds a payload can tell whose it is without decrypting it — the
// codec server for the Temporal Web UI decrypts only for the auditors and
// managers of that provider — and relabelling it for another provider makes
// it fail to decrypt.
//
// Keys come from the environment (KeysFromEnv): a file or a variable, never
// the repository or a log; no message of this package quotes a key.
package payloadcrypt

import (
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload. The original payload, metadata and
// data, is the plaintext; these say how to decrypt it and whose it is.
const (
	// Encoding is the payload encoding that marks an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataProvider is the code of the provider whose workflow the
	// payload belongs to; absent when the codec did not know the workflow.
	MetadataProvider = "oho-provider"
)

// aadPrefix starts the additional data GCM authenticates: this format's
// name and version, then the key ID and the provider, so that neither can be
// changed without the payload failing to decrypt.
const aadPrefix = "oho-payload/1"

func additionalData(keyID, provider string) []byte {
	return []byte(aadPrefix + "\x00" + keyID + "\x00" + provider)
}

// ErrDoesNotDecrypt is a payload that fails GCM's authentication: altered,
// relabelled for another provider or key, or encrypted with another key of
// the same ID.
var ErrDoesNotDecrypt = errors.New("does not decrypt")

// ErrUnknownKey is a payload encrypted with a key that is not configured.
var ErrUnknownKey = errors.New("unknown payload key")

// Codec encrypts and decrypts payloads (see the package comment). A Codec
// without keys encrypts nothing and decodes only plain payloads, saying which
// key an encrypted one needs. It is safe for concurrent use.
type Codec struct {
	keys *Keyring
	// scope is the provider a workflow ID belongs to, "" when none.
	scope func(workflowID string) string
	// provider is the provider payloads are bound to when encoded.
	provider string
}

// New returns a codec with the keys (nil: none, payloads stay plain) that
// binds each payload to the provider scope derives from the workflow ID it
// is encoded for (nil: never bound).
func New(keys *Keyring, scope func(workflowID string) string) *Codec {
	return &Codec{keys: keys, scope: scope}
}

// FromEnv returns a codec with the keys the environment configures
// (KeysFromEnv), binding payloads through scope.
func FromEnv(scope func(workflowID string) string) (*Codec, error) {
	keys, err := KeysFromEnv()
	if err != nil {
		return nil, err
	}
	return New(keys, scope), nil
}

// Encrypting reports whether the codec has keys, and so encrypts.
func (c *Codec) Encrypting() bool { return c.keys != nil }

// Keys returns the codec's keys; nil when it has none.
func (c *Codec) Keys() *Keyring { return c.keys }

// Provider is the provider the codec binds payloads to; "" when none.
func (c *Codec) Provider() string { return c.provider }

// ForProvider returns the codec binding what it encodes to the provider.
func (c *Codec) ForProvider(provider string) *Codec {
	b := *c
	b.provider = provider
	return &b
}

// WithSerializationContext returns the codec for the workflow the SDK
// encodes for: bound to its provider (converter.PayloadCodecWithSerializationContext).
// A context without a workflow, or a workflow of no provider, leaves the
// codec as it is.
func (c *Codec) WithSerializationContext(sc converter.SerializationContext) converter.PayloadCodec {
	var workflowID string
	switch sc := sc.(type) {
	case converter.WorkflowSerializationContext:
		workflowID = sc.WorkflowID
	case converter.ActivitySerializationContext:
		workflowID = sc.WorkflowID
	}
	if workflowID == "" || c.scope == nil {
		return c
	}
	if p := c.scope(workflowID); p != "" && p != c.provider {
		return c.ForProvider(p)
	}
	return c
}

// Encode encrypts each payload with the current key, bound to the codec's
// provider; without keys, and for payloads already encrypted, it returns
// them as they are.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if c.keys == nil {
		return payloads, nil
	}
	out := make([]*commonpb.Payload, len(payloads))
	id := c.keys.current
	aead := c.keys.aeads[id]
	for i, p := range payloads {
		if p == nil || Encrypted(p) {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("encrypting a payload: %w", err)
		}
		md := map[string][]byte{
			converter.MetadataEncoding: []byte(Encoding),
			MetadataKeyID:              []byte(id),
		}
		if c.provider != "" {
			md[MetadataProvider] = []byte(c.provider)
		}
		out[i] = &commonpb.Payload{Metadata: md, Data: aead.Seal(nil, nil, plain, additionalData(id, c.provider))}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key it names, whatever
// provider it is bound to (deciding who may read it is the caller's), and
// returns plain payloads as they are.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !Encrypted(p) {
			out[i] = p
			continue
		}
		d, err := c.decrypt(p)
		if err != nil {
			return payloads, err
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decrypt(p *commonpb.Payload) (*commonpb.Payload, error) {
	id, provider := string(p.Metadata[MetadataKeyID]), string(p.Metadata[MetadataProvider])
	switch {
	case id == "":
		return nil, fmt.Errorf("a payload marked %s names no key (%s)", Encoding, MetadataKeyID)
	case c.keys == nil:
		return nil, fmt.Errorf("%w: a payload is encrypted with key %q, but no payload keys are configured: set %s or %s",
			ErrUnknownKey, id, KeysFileVar, KeysVar)
	}
	aead, ok := c.keys.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: a payload is encrypted with key %q, which is not among the payload keys configured (%s): keep every key that kept histories use in %s or %s",
			ErrUnknownKey, id, strings.Join(c.keys.ids, ", "), KeysFileVar, KeysVar)
	}
	plain, err := aead.Open(nil, nil, p.Data, additionalData(id, provider))
	if err != nil {
		return nil, fmt.Errorf("a payload encrypted with key %q %w: it was altered, or its provider or key ID was changed", id, ErrDoesNotDecrypt)
	}
	var d commonpb.Payload
	if err := proto.Unmarshal(plain, &d); err != nil {
		return nil, fmt.Errorf("a payload decrypted with key %q does not read as a payload: %w", id, err)
	}
	return &d, nil
}

// Encrypted reports whether the payload carries the encryption marker.
func Encrypted(p *commonpb.Payload) bool {
	return p != nil && string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding
}

// Label is what an encrypted payload says of itself without being
// decrypted: its key and its provider ("" when it is bound to none).
type Label struct {
	KeyID, Provider string
}

// LabelOf returns the payload's label, and whether it is encrypted.
func LabelOf(p *commonpb.Payload) (Label, bool) {
	if !Encrypted(p) {
		return Label{}, false
	}
	return Label{KeyID: string(p.Metadata[MetadataKeyID]), Provider: string(p.Metadata[MetadataProvider])}, true
}

// DataConverter is Temporal's default data converter with the codec applied
// to what it produces; the SDK binds it to each workflow's provider.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter converts errors to failures as Temporal's default does,
// and, when the codec encrypts, moves each failure's message and stack trace
// into a payload through the codec (EncodeCommonAttributes), bound like the
// other payloads: validators' refusals and failure reasons can carry what
// people wrote. Decoding restores the message, so the refusals a client
// receives read as before.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return newFailureConverter(c.DataConverter(), c.Encrypting())
}

// failureConverter is the default failure converter over a data converter
// it binds to each serialization context, as the SDK's default does not.
type failureConverter struct {
	*temporal.DefaultFailureConverter
	dc     converter.DataConverter
	encode bool
}

func newFailureConverter(dc converter.DataConverter, encode bool) *failureConverter {
	return &failureConverter{
		DefaultFailureConverter: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: encode}),
		dc:                      dc, encode: encode,
	}
}

// WithSerializationContext implements converter.FailureConverterWithSerializationContext.
func (f *failureConverter) WithSerializationContext(sc converter.SerializationContext) converter.FailureConverter {
	dc := converter.WithDataConverterSerializationContext(f.dc, sc)
	if dc == f.dc {
		return f
	}
	return newFailureConverter(dc, f.encode)
}
