// Package review is OHO's domain: the yearly review cycle of a provider's
// student welfare plan, its units, roles and human tasks, the outcomes people
// give and the rules those must meet, plan content and its hashing, the facts
// of the notices people are sent, and the IDs every part of OHO shares.
//
// It knows neither Temporal nor SQL. The workflows run the cycle with these
// types, the store records them, and the service and its front ends show
// them; each of those imports this package, never the other way round.
package review
