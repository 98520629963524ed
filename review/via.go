package review

// Channel is how a person reached OHO when they did something.
type Channel string

// Channels. Changes the workflows make by themselves (a task opened, a
// deadline passed) come through none.
const (
	// ChannelWeb is a person in the browser, in a login session.
	ChannelWeb Channel = "web"
	// ChannelAPI is a script or integration using a person's API token.
	ChannelAPI Channel = "api"
	// ChannelCLI is the operator at the server's command line, acting as
	// themselves or for a person.
	ChannelCLI Channel = "cli"
)

// Via says how a change reached OHO: the channel and what identifies the
// way in, so that the audit trail tells a click in the browser from a script
// and from an operator acting on someone's behalf. Ref is the session's
// reference (never the session token itself), the API token's ID, or the
// operating-system user at the command line.
type Via struct {
	Channel Channel `json:"channel,omitempty"`
	Ref     string  `json:"ref,omitempty"`
}

// String writes the way in as "web session 3f9a…", "api token tok_1a2b" or
// "cli user root"; empty for none.
func (v Via) String() string {
	var what string
	switch v.Channel {
	case "":
		return ""
	case ChannelWeb:
		what = "session"
	case ChannelAPI:
		what = "token"
	case ChannelCLI:
		what = "user"
	}
	if v.Ref == "" || what == "" {
		return string(v.Channel)
	}
	return string(v.Channel) + " " + what + " " + v.Ref
}
