package store

// InboxQuery is the query Inbox runs, for the test that explains its plan.
const InboxQuery = inboxQuery

// PersonMention is the JSON path that finds a person's ID in an audit
// payload, for the test of what it finds.
var PersonMention = personMention
