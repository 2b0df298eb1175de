# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
#
# The umount-16 scenarios' lock-order check (guest-init.sh, stand-in only). Input, in time order
# (CLOCK_MONOTONIC ns on both sides):
#   <ns> U <pid> <event> <si>              aufsctl's AUFSCTL_TRACE: lock-sh, lock-ex, unlock-sh,
#                                          unlock-ex, lock-sh-timeout, ..., sysfs-read, umount2
#   <ns> K <tgid> <event> <si>[/<file>] <comm>   the stand-in's /proc/fs/aufs/standin_trace: read,
#                                          read-dying, kill-begin, kill-end
# Checks that every sysfs read the kernel saw was made by a process holding that union's lock, that
# every kill_sb ran while the process running it held the union's lock exclusively, that nothing
# was read during a kill_sb, and that each unmount read only its own union's entries (at most
# `nbr` files). Prints "LOCKCHECK-ERR: ..." per violation and one "LOCKCHECK: ..." summary.
function err(m) { errors++; if (errors <= 20) print "LOCKCHECK-ERR: " m }
# (reading held[] for a key it lacks would add the key)
function exclusive(p, s) { return ((p, s) in held) && held[p, s] == "lock-ex" }
{
    src = $2; pid = $3; ev = $4; si = $5; file = si
    sub(/^si_/, "", si); sub(/\/.*/, "", si)
    sub(/^[^\/]*\/?/, "", file)
}
src == "U" && (ev == "lock-sh" || ev == "lock-ex") {
    if ((pid, si) in held) err("pid " pid " took the lock of si_" si " twice")
    held[pid, si] = ev
    if (ev == "lock-ex") { exsi[pid] = si; nex[si]++; if (!wstart) wstart = $1 }
    else shared[++nshared] = $1
    next
}
src == "U" && (ev == "unlock-sh" || ev == "unlock-ex") {
    if (!((pid, si) in held)) err("pid " pid " released the lock of si_" si " it did not hold")
    delete held[pid, si]
    if (ev == "unlock-ex") wend = $1
    next
}
src == "U" && ev ~ /-timeout$/ { timeouts++; next }
src == "K" && ev == "read" {
    reads[pid]++
    if (!((pid, si) in held)) err("pid " pid " (" $6 ") read si_" si "/" file " without holding its lock")
    if (!((pid, si) in seen)) { seen[pid, si] = 1; nsi[pid]++; onesi[pid] = si }
    next
}
src == "K" && ev == "read-dying" { err("pid " pid " (" $6 ") read si_" si "/" file " during its kill_sb"); next }
src == "K" && ev == "kill-begin" {
    kills++
    killer[si] = pid
    if (!exclusive(pid, si)) err("kill_sb of si_" si " by pid " pid " (" $6 ") without its exclusive lock")
    next
}
src == "K" && ev == "kill-end" {
    ends++
    if (!exclusive(killer[si], si)) err("kill_sb of si_" si " ended after pid " killer[si] " released its lock")
    next
}
END {
    for (p in exsi) {
        unmounters++
        total += reads[p]
        if (reads[p] > most) most = reads[p]
        if (reads[p] > nbr) err("unmount pid " p " read " reads[p] " sysfs files, more than its union's " nbr " br<N>")
        if (nsi[p] > 1 || (nsi[p] == 1 && onesi[p] != exsi[p]))
            err("unmount pid " p " of si_" exsi[p] " read the sysfs entries of another union")
    }
    for (p in reads) if (!(p in exsi)) { readers++; rtotal += reads[p] }
    # the readers' shared locks taken between the first unmount's lock and the last one's release
    for (i = 1; i <= nshared; i++) if (shared[i] >= wstart && shared[i] <= wend) during++
    if (!during) err("no reader took a union's lock while the unmounts ran: nothing was checked against them")
    if (kills != unions || ends != unions) err(kills + 0 " kill_sb begun and " ends + 0 " ended, want " unions)
    if (unmounters != unions) err(unmounters + 0 " processes took a union's lock exclusively, want " unions)
    printf "LOCKCHECK: %d unmounts read %d sysfs files (at most %d each, each its own union's); %d reading " \
        "processes read %d (%d shared locks taken while the unmounts ran); %d kill_sb, each under its unmount's " \
        "exclusive lock; %d lock timeouts; %d errors\n",
        unmounters, total, most, readers, rtotal, during, kills, timeouts, errors
}
