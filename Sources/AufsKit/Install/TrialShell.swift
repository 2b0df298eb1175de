// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
/// The trial build as POSIX sh, for `install --build --emit-sh` and the kernel hook: the same
/// candidates in the same order, the same `make KDIR=... aufs.ko` in a scratch directory under
/// /tmp (removed afterwards), the same first error line.
public enum TrialShell {
    /// Where the sh trial takes its trees from; every value is already an sh word.
    public enum Source: Sendable, Equatable {
        /// A directory's tree (`'/srv/aufs'`, `"/usr/src/aufs-$V"`).
        case tree(word: String)
        /// A repository URL (an sh word) and the branches to clone in turn.
        case repository(urlWord: String, branches: [String])
    }

    /// Sets `AUFSCTL_BRANCH` to what built (`--source` for a tree) or runs `onFail`, which finds
    /// the reasons in `$aufsctl_why`. `kernelWord` and `jobsWord` are sh words (`"$KVER"`).
    public static func lines(kernelWord k: String, source: Source, jobsWord: String, onFail: String) -> [String] {
        let candidates: String
        let fetch: [String]
        switch source {
        case .tree(let dir):
            candidates = "--source"
            fetch = [
                "    mkdir \"$aufsctl_d\" && for aufsctl_i in \(TreeCopy.items.joined(separator: " ")); do",
                "        if [ -e \(dir)/\"$aufsctl_i\" ]; then cp -R \(dir)/\"$aufsctl_i\" \"$aufsctl_d/\"; fi",
                "    done",
            ]
        case .repository(let url, let branches):
            candidates = ShellScript.quote(branches)
            fetch = [
                "    if ! GIT_ALLOW_PROTOCOL=https:http GIT_TERMINAL_PROMPT=0 git clone -q --depth 1 "
                    + "--no-recurse-submodules --branch \"$aufsctl_b\" \(url) \"$aufsctl_d\" >/dev/null 2>&1; then",
                "        aufsctl_why=\"$aufsctl_why; $aufsctl_b: git clone failed\"; continue",
                "    fi",
            ]
        }
        return [
            "aufsctl_trial=$(mktemp -d /tmp/aufsctl-trial.XXXXXX)",
            "AUFSCTL_BRANCH=; aufsctl_why=; aufsctl_n=0",
        ] + (candidates == "--source" ? ["# shellcheck disable=SC2043 # one tree: the loop runs once"] : []) + [
            "for aufsctl_b in \(candidates); do",
            "    aufsctl_n=$((aufsctl_n + 1)); aufsctl_d=\"$aufsctl_trial/$aufsctl_n\"",
        ] + fetch + [
            "    if LC_ALL=C make -C \"$aufsctl_d\" KDIR=\"/lib/modules/\"\(k)\"/build\" -j \(jobsWord) aufs.ko "
                + ">\"$aufsctl_d.log\" 2>&1 && [ -f \"$aufsctl_d/fs/aufs/aufs.ko\" ]; then",
            "        AUFSCTL_BRANCH=$aufsctl_b; break",
            "    fi",
            "    aufsctl_e=$(grep -m 1 -E ': (fatal )?error: |ERROR: modpost: ' \"$aufsctl_d.log\" | "
                + "sed \"s|$aufsctl_d/||g\")",
            "    aufsctl_why=\"$aufsctl_why; $aufsctl_b fails to compile for \"\(k)\": ${aufsctl_e:-$(tail -n 1 "
                + "\"$aufsctl_d.log\")}\"",
            "done",
            "rm -rf \"$aufsctl_trial\"",
            "if [ -n \"$AUFSCTL_BRANCH\" ]; then echo \"trial build: $AUFSCTL_BRANCH builds for \"\(k); "
                + "else aufsctl_why=${aufsctl_why#; }; \(onFail); fi",
        ]
    }
}
