package store

// InboxQuery is the query Inbox runs, for the test that explains its plan.
const InboxQuery = inboxQuery
