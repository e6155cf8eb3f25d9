# Reading rsmbd-bench results, shared by tools/bench/compare.sh (rsmbd vs Samba, on the host)
# and tools/testbed/tests/bench-tcp.sh (rsmbd vs ksmbd, in the test bed guest). Each input line
# is `round=R server=S RESULT label=L iops=N ...` (k=v fields). Callers put it before their
# own program text: awk "$(cat results.awk)"'...program...' "$RESULTS" (the test bed guest has
# no /dev/stdin or /dev/fd, so no second -f from a here-document).
#
# fields() splits the current line into f[k] = v, notes the layout's first appearance in
# order[1..nl] and the round in rounds[], and returns the label. med(list) is the median of a
# space-separated list of numbers ("" for an empty list). ratios(l, a, b) lists the per-round
# ratios by[l, a, r] / by[l, b, r] of the rounds where both ran (by[] filled by the caller).

function fields(   i, kv, l) {
    delete f
    for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) f[kv[1]] = kv[2]
    l = f["label"]
    if (!(l in seen)) { seen[l] = 1; order[++nl] = l }
    rounds[f["round"]] = 1
    return l
}

function med(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function ratios(l, a, b,   r, s) {
    s = ""
    for (r in rounds) if (by[l, a, r] + 0 > 0 && by[l, b, r] + 0 > 0) s = s " " (by[l, a, r] / by[l, b, r])
    return s
}
