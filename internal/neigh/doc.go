// Package neigh is arplab's model of the Linux IPv4 neighbour (ARP) table
// and the ARP receive path, kernel by kernel. It is the reference the
// simulator, replay and the real-kernel verifier stand on, written from
// ../shared/spec/linux-neighbour.md (cited by section at each rule).
//
// Heads up: the behaviour here is the kernel's, including its bugs (the
// moving locktime window, shared-route confirmations). Each difference
// between kernels is a feature flag (kernel.Features) read where the
// decision is taken; read the spec section named in a comment before
// changing a branch, and add a test named after the transition.
//
// The model is sans-IO: every input is a Table method taking `now` in the
// host's jiffies, returning a Result of Decisions (with every number the
// rule compared, formatted only by Decision.Explain) and Actions (frames to
// send, queued packets to release or fail). NextDeadline tells the caller
// when to call Tick. Nothing here reads a clock, starts a goroutine or uses
// global randomness.
//
// Transitions (spec §2.5, §3, §5); the tests are named after the rows.
//
//	| From              | To          | Cause                                   | Updated  | Action                  | Test                                                |
//	|-------------------|-------------|-----------------------------------------|----------|-------------------------|-----------------------------------------------------|
//	| NONE, FAILED      | INCOMPLETE  | packet sent, mcast+app probes > 0       | now      | broadcast probe, queue  | TestEntryNoneToIncompleteToFailed                   |
//	| NONE, FAILED      | FAILED      | packet sent, no probes configured       | now      | drop                    | TestNoProbesConfiguredFails                         |
//	| STALE             | DELAY       | packet sent                             | now      | send to cached lladdr   | TestMovingLocktimeWindowOn310                       |
//	| DELAY             | REACHABLE   | timer, confirmed within delay           | now      | —                       | TestRouteSharedConfirmationKeepsWrongEntry          |
//	| DELAY             | PROBE       | timer, no confirmation                  | now      | unicast probe           | TestEntryReachableToDelayToProbeToFailed            |
//	| REACHABLE         | REACHABLE   | timer, confirmed within reachable_time  | —        | re-arm                  | TestEntryReachableToStaleWhenUnused                 |
//	| REACHABLE         | DELAY       | timer, used within delay                | now      | —                       | TestEntryReachableToDelayToProbeToFailed            |
//	| REACHABLE         | STALE       | timer, unused                           | now      | —                       | TestEntryReachableToStaleWhenUnused                 |
//	| PROBE, INCOMPLETE | same        | timer, probes < max                     | —        | probe                   | TestEntryProbeWithMcastResolicit                    |
//	| PROBE, INCOMPLETE | FAILED      | timer, probes ≥ max                     | now      | fail queued packets     | TestEntryNoneToIncompleteToFailed                   |
//	| any VALID         | per §5      | ARP received (§4.4 → neigh_update)      | per F4   | release queue if !VALID | TestNeighUpdateWorkedCases, TestGARPClassificationTable |
//	| any               | STALE       | request for our address (§4.3)          | now      | reply                   | TestRequestForUsOverridesInsideLocktime             |
//	| STALE, FAILED     | removed     | periodic GC above gc_thresh1            | —        | —                       | TestPeriodicGCRemovesStaleAboveThresh1              |
//	| not in timer      | removed     | forced GC on allocation                 | —        | —                       | TestForcedGC                                        |
//	| any               | per command | ip neigh add/change/replace/del/flush   | per §5   | —                       | TestAdminOperations                                 |
//	| non-permanent     | removed     | carrier loss (F15)                      | —        | —                       | TestCarrierDownFlushes                              |
package neigh
