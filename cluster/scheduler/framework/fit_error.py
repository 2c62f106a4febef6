"""FitError's message, in Kubernetes' exact form (framework/types.go FitError.Error):

    0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: },
    2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for
    scheduling, 2 No preemption victims found for incoming pod..

(The two periods at the end are Kubernetes' own: the PostFilter message is a FitError
message, ending in a period, and FitError adds one more after it.)

Each node's reasons are counted; nodes without a status of their own (never examined, or all
of them when PreFilter rejected the pod) count with the "absent" status; the "<count> <reason>"
strings are sorted as strings (so "10 …" comes before "2 …", as Go's sort.Strings does) and
joined with ", ". A PreFilter rejection replaces the histogram with its own message, and the
PostFilter's message (preemption's) follows.
"""

NO_NODES_MESSAGE = "no nodes available to schedule pods"


def fit_error_message(total: int, diagnosis) -> str:
    text = f"0/{total} nodes are available:"
    if diagnosis.pre_filter_msg:
        text += f" {diagnosis.pre_filter_msg}."
    else:
        histogram = reason_histogram(total, diagnosis.statuses, diagnosis.absent)
        if histogram:
            text += f" {', '.join(histogram)}."
    if diagnosis.post_filter_msg:
        text += f" {diagnosis.post_filter_msg}."
    return text


def reason_histogram(total: int, statuses: dict, absent) -> list[str]:
    counts: dict = {}
    for status in statuses.values():
        for reason in status.reasons:
            counts[reason] = counts.get(reason, 0) + 1
    missing = total - len(statuses)
    if missing > 0 and absent is not None:
        for reason in absent.reasons:
            counts[reason] = counts.get(reason, 0) + missing
    return sorted(f"{count} {reason}" for reason, count in counts.items())
