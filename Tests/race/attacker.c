// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/*
 * The other user's side of the race tests (Tests/AufsKitTests/Stress/RaceTests.swift), run as
 * nobody through setpriv: swaps a name in a directory that user can write for a symlink to a
 * victim at the moment root's aufsctl touches it.
 *
 *   attacker on-event DIR NAME AWAY LINK TIMEOUT_MS
 *       watches DIR (inotify: IN_OPEN, IN_CREATE, IN_ACCESS); on the first event for NAME,
 *       renames DIR/NAME to DIR/AWAY and puts a symlink to LINK under NAME; prints "ready" once
 *       watching and "swapped" (or "timeout") at the end.
 *   attacker loop DIR NAME AWAY LINK DURATION_MS
 *       for DURATION_MS: rename NAME to AWAY, symlink LINK as NAME, then put NAME back, again and
 *       again (for calls that give no event to wait for); prints "ready", then the swap count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: attacker on-event|loop DIR NAME AWAY LINK MS\n");
        return 2;
    }
    const char *mode = argv[1], *dir = argv[2], *name = argv[3], *away = argv[4], *link = argv[5];
    long long ms = atoll(argv[6]);
    if (chdir(dir) != 0) {
        perror(dir);
        return 2;
    }
    if (strcmp(mode, "loop") == 0) {
        printf("ready\n");
        fflush(stdout);
        long long end = now_ms() + ms, swaps = 0;
        while (now_ms() < end) {
            if (rename(name, away) == 0) {
                if (symlink(link, name) == 0) swaps++;
                unlink(name);
                rename(away, name);
            }
        }
        printf("%lld\n", swaps);
        return 0;
    }
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, ".", IN_OPEN | IN_CREATE | IN_ACCESS) < 0) {
        perror("inotify");
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    char buf[sizeof(struct inotify_event) + NAME_MAX + 1] __attribute__((aligned(8)));
    long long end = now_ms() + ms;
    while (now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0) continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        for (char *q = buf; n > 0 && q < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)q;
            if (e->len > 0 && strcmp(e->name, name) == 0) {
                if (rename(name, away) == 0 && symlink(link, name) == 0) {
                    printf("swapped\n");
                    return 0;
                }
            }
            q += sizeof(struct inotify_event) + e->len;
        }
    }
    printf("timeout\n");
    return 0;
}
