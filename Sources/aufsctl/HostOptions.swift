// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import ArgumentParser
import AufsKit

/// Options every host-reading command takes.
struct HostOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read every host file under DIR (a mounted image, chroot or fixture tree).", valueName: "DIR"),
        completion: .directory)
    var root: String = "/"

    func hostRoot() throws -> HostRoot {
        try HostRoot.validated(root)
    }
}

func parseKernel(_ s: String?) throws -> KernelRelease? {
    guard let s else { return nil }
    guard let k = KernelRelease(s) else {
        throw AufsError.usage(
            "--kernel \"\(s)\": not a kernel release; expected the form uname -r prints, e.g. 6.1.0-18-amd64")
    }
    return k
}

/// `--source`: a URL when it names a scheme (only https/http are cloned), else a directory.
func parseSource(_ source: String?) throws -> AufsSource? {
    guard let source else { return nil }
    guard source.contains(":") && !source.hasPrefix("/") && !source.hasPrefix(".") else {
        return .directory(source)
    }
    // A URL: only https/http clones (no file://, ext::, ssh or git transports).
    guard source.hasPrefix("https://") || source.hasPrefix("http://") else {
        throw AufsError.usage(
            "--source \(source): only https:// (or http://) repositories are cloned; file://, ext::, git:// "
                + "and ssh transports are refused; for a local checkout give its directory")
    }
    return .repository(url: source)
}

/// `--source-ref`: a full commit id (of a cloned repository), or a git branch name.
func parseSourceRef(_ ref: String, source: AufsSource?) throws -> SourceRef {
    if [40, 64].contains(ref.count), ref.allSatisfy({ $0.isHexDigit }) {
        if case .directory(let dir)? = source {
            throw AufsError.usage(
                "--source-ref \(ref) pins a commit of a cloned repository; --source \(dir) is a directory")
        }
        return .commit(ref)
    }
    if ref.allSatisfy({ $0.isHexDigit }) && ref.count >= 7 {
        // git fetch takes a full commit id only (an abbreviation is looked up as a ref name).
        throw AufsError.usage(
            "--source-ref \(ref): an abbreviated commit id; give the full id (40 hex digits; 64 for SHA-256 "
                + "repositories), or a branch name")
    }
    guard ref.first != "-",
        ref.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && !"~^:?*[\\".unicodeScalars.contains($0) }),
        !ref.contains(".."), !ref.hasSuffix(".lock"), !ref.hasSuffix("/")
    else {
        throw AufsError.usage(
            "--source-ref \(ref): not a git branch name (git check-ref-format) nor a full commit id")
    }
    return .branch(ref)
}
