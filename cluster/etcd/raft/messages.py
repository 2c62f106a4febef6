"""The messages Raft nodes exchange: plain dicts, named after the RPCs of the paper.

Every message has "type", "from", "to" and "term". The other fields, by type:

    type                    fields
    PreVote, RequestVote    index, log_term   (the candidate's last log index and term)
    PreVoteResponse,
    RequestVoteResponse     reject            (False: granted)
    AppendEntries           index, log_term   (of the entry just before `entries`),
                            entries, commit
    AppendEntriesResponse   reject, index     (accepted: the last index now known to match;
                                               rejected: the `index` of the request)
                            hint_index, hint_term (rejected only: see below)
    InstallSnapshot         snapshot          {"index", "term", "data"}: the leader no
                                              longer holds the entries the follower needs
                                              (answered with an AppendEntriesResponse)
    Heartbeat               commit, ctx       (ctx: the newest pending ReadIndex, or None)
    HeartbeatResponse       ctx
    Propose                 entries (data only), hops    term 0: a local message
    ReadIndex               ctx                          term 0: a local message
    ReadIndexResponse       ctx, index

A worked example of the reject hint (fast back-off). Indexes 1..6, terms per index:

    leader    1 1 2 4 4 4        sends AppendEntries(index=5, log_term=4, ...)
    follower  1 1 2 3 3          its entry 5 has term 3, not 4: reject,
                                 hint_term=3, hint_index=4 (the first index of term 3)

The leader has no entry of term 3, so it retries from index 4 (prev index 3, term 2),
which matches: two round trips instead of one per missing entry. Had the leader held
entries of term 3, it would retry just after its last one. A follower whose log is
too short answers hint_term=None, hint_index=its last index.

Propose and ReadIndex carry term 0, like etcd's MsgProp and MsgReadIndex: a follower
forwards them to its leader on behalf of a client, and their term is no evidence of an
election, so the term rules skip them.

The types are strings so that a message reads well in an event log and in the browser.
"""

PRE_VOTE = "PreVote"
PRE_VOTE_RESP = "PreVoteResponse"
VOTE = "RequestVote"
VOTE_RESP = "RequestVoteResponse"
APPEND = "AppendEntries"
APPEND_RESP = "AppendEntriesResponse"
SNAPSHOT = "InstallSnapshot"  # etcd's MsgSnap
HEARTBEAT = "Heartbeat"
HEARTBEAT_RESP = "HeartbeatResponse"
PROPOSE = "Propose"
READ_INDEX = "ReadIndex"
READ_INDEX_RESP = "ReadIndexResponse"

ALL_TYPES = (PRE_VOTE, PRE_VOTE_RESP, VOTE, VOTE_RESP, APPEND, APPEND_RESP, SNAPSHOT, HEARTBEAT, HEARTBEAT_RESP, PROPOSE, READ_INDEX, READ_INDEX_RESP)

# Messages whose term is not evidence of anything (sent with term 0).
LOCAL_TYPES = (PROPOSE, READ_INDEX)
