package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"

	"github.com/oho-dev/oho/authz"
	"github.com/oho-dev/oho/payloadcrypt"
	"github.com/oho-dev/oho/render"
	"github.com/oho-dev/oho/store"
)

// DecodePayloads decrypts payloads of Temporal histories for the actor: the
// codec server the Temporal Web UI and CLI call (Temporal's remote codec
// protocol), which sends payloads without saying whose workflow they come
// from. Each encrypted payload says it of itself: the codec bound it to the
// provider of its workflow, under GCM's authentication (package
// payloadcrypt). So only the auditors and managers of that provider get its
// plain text; anyone else is refused the whole request, as is anyone who is
// not an auditor or manager at all, and a payload bound to no provider is
// refused to everyone but the operator, since whose it is cannot be told.
// Plain payloads (histories from before encryption) come back as they are.
//
// namespace is the Temporal namespace the caller read the payloads from
// (the X-Namespace header); empty when not given, another than OHO's is
// refused.
func (s *Service) DecodePayloads(ctx context.Context, a Actor, namespace string, payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if !a.operator {
		if err := a.authorize(a.Person.Provider, authz.OpAudit, authz.Subject{On: "workflow payloads"}); err != nil {
			return nil, err
		}
	}
	if namespace != "" && namespace != s.namespace {
		return nil, invalid("namespace", "the payloads are of Temporal namespace %q; this OHO decodes those of %q", namespace, s.namespace)
	}
	var checked []string
	for i, p := range payloads {
		label, encrypted := payloadcrypt.LabelOf(p)
		switch {
		case !encrypted, slices.Contains(checked, label.Provider):
			continue
		case label.Provider == "" && !a.operator:
			return nil, errorOf(ErrForbidden, "refused: payload %d is encrypted without a provider, so OHO cannot tell whose it is; read it in the audit export of its cycle", i)
		case label.Provider != "":
			if err := a.authorize(label.Provider, authz.OpAudit, authz.Subject{On: "the workflow payloads of " + label.Provider}); err != nil {
				return nil, err
			}
		}
		checked = append(checked, label.Provider)
	}
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		d, err := s.payloads.Decode([]*commonpb.Payload{p})
		if err != nil {
			return nil, payloadError(fmt.Sprintf("payloads[%d]", i), fmt.Sprintf("payload %d", i), err)
		}
		out[i] = d[0]
	}
	// Who read whose payloads in plain text, before they get them.
	for _, provider := range checked {
		if err := s.recordDecoding(ctx, a, provider, len(payloads)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeRecordEvery is how often the audit trail records that the same
// person read the same provider's payloads through the codec server: the Web
// UI asks for a history's payloads in many small requests, and one event an
// hour says who read the provider's histories when without burying the
// trail.
const decodeRecordEvery = time.Hour

// recordDecoding records, at most once every decodeRecordEvery for the actor
// and the provider, that the actor read the provider's workflow payloads
// decrypted (payloads.decoded, subject provider/P, with the number of
// payloads in the request that was recorded). A request whose reading
// cannot be recorded is refused, so that no plain text goes unrecorded.
func (s *Service) recordDecoding(ctx context.Context, a Actor, provider string, n int) error {
	key := a.ID() + "\x00" + provider
	now := s.now()
	s.decodedMu.Lock()
	if last, ok := s.decoded[key]; ok && now.Sub(last) < decodeRecordEvery {
		s.decodedMu.Unlock()
		return nil
	}
	s.decoded[key] = now
	s.decodedMu.Unlock()
	subject := "provider/" + provider
	if provider == "" {
		// Payloads bound to no provider, which only the operator reads.
		subject = "payloads/without-provider"
	}
	ev := store.IdentityEvent{Actor: a.ID(), Action: store.ActionPayloadsDecoded, Subject: subject,
		Payload: map[string]any{"provider": provider, "payloads": n, "namespace": s.namespace}}
	if err := s.store.RecordIdentity(a.ctx(ctx), ev); err != nil {
		s.decodedMu.Lock()
		delete(s.decoded, key)
		s.decodedMu.Unlock()
		return fromStore(err)
	}
	return nil
}

// PayloadsEncrypted reports whether this program encrypts Temporal's
// payloads (it has keys): then the Web UI needs the codec server to show
// them.
func (s *Service) PayloadsEncrypted() bool { return s.payloads.Encrypting() }

// payloadError is a payload that does not decrypt: altered, or encrypted
// with a key this program is not given. It names the payload.
func payloadError(field, what string, err error) error {
	msg := what + ": " + err.Error()
	kind := ErrInvalid
	if errors.Is(err, payloadcrypt.ErrUnknownKey) {
		// The payload is sound; this program lacks its key.
		kind = ErrConflict
	}
	return &Error{kind: kind, msg: msg, Fields: map[string]string{field: msg}, err: err}
}

// decodeHistories decrypts, in place, every payload of the workflows'
// histories of the provider's cycle, for the audit export of the actor, and
// says what it did. A payload bound to another provider has no place there
// and stops the export, naming its workflow and event.
func (s *Service) decodeHistories(ctx context.Context, a Actor, provider string, wfs []render.Workflow) (render.Decoding, error) {
	dec := render.Decoding{Written: "decrypted", For: a.ID(), KeyIDs: []string{}}
	for _, w := range wfs {
		for _, ev := range w.History {
			where := fmt.Sprintf("event %d of %s", ev.GetEventId(), w.WorkflowID)
			err := proxy.VisitPayloads(ctx, ev, proxy.VisitPayloadsOptions{
				// Search attributes are indexed by the server: never encoded.
				SkipSearchAttributes: true,
				Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					for _, p := range ps {
						label, encrypted := payloadcrypt.LabelOf(p)
						if !encrypted {
							dec.Plain++
							continue
						}
						if label.Provider != "" && label.Provider != provider {
							return nil, errorOf(ErrConflict, "the history holds a payload of provider %s in %s, a workflow of %s", label.Provider, where, provider)
						}
						dec.Encrypted++
						if !slices.Contains(dec.KeyIDs, label.KeyID) {
							dec.KeyIDs = append(dec.KeyIDs, label.KeyID)
						}
					}
					out, err := s.payloads.Decode(ps)
					if err != nil {
						return nil, payloadError("history", "a payload of "+where, err)
					}
					return out, nil
				},
			})
			if err != nil {
				return render.Decoding{}, err
			}
		}
	}
	slices.Sort(dec.KeyIDs)
	return dec, nil
}
