// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc

/// Runs `body` on a thread of its own and awaits it without holding one of the concurrency pool's
/// threads (as many as cores: 2 here). Tests that block (waitpid, a FIFO's open, polling sleeps)
/// would otherwise hold the pool's threads, and every other test's tasks and subprocess reads
/// would wait for them (a FIFO open blocked for good once stalled the whole run). `body` records
/// no issues (#expect needs the test's task): it returns what the test then checks.
/// A closure handed to the new thread.
private final class OffPoolJob {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
        let job = Unmanaged.passRetained(OffPoolJob { c.resume(returning: body()) }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { p in
                Unmanaged<OffPoolJob>.fromOpaque(p!).takeRetainedValue().run()
                return nil
            }, job)
        if rc == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<OffPoolJob>.fromOpaque(job).takeRetainedValue().run()  // no thread: run it here
        }
    }
}

/// A thread started now, not when the pool next has a thread free: a `Task { await offPool … }`
/// may not run at all while the test that made it blocks its pool thread polling for it (CI once
/// waited 10 s for a reader whose task never started). `value` joins it off the pool.
final class Started<T: Sendable>: @unchecked Sendable {
    private final class Box: @unchecked Sendable { var result: T? }
    private let box = Box()
    private var thread = pthread_t()
    private var running = false

    init(_ body: @escaping @Sendable () -> T) {
        let box = self.box
        let job = Unmanaged.passRetained(OffPoolJob { box.result = body() }).toOpaque()
        running =
            pthread_create(
                &thread, nil,
                { p in
                    Unmanaged<OffPoolJob>.fromOpaque(p!).takeRetainedValue().run()
                    return nil
                }, job) == 0
        if !running { Unmanaged<OffPoolJob>.fromOpaque(job).takeRetainedValue().run() }  // no thread: run it here
    }

    /// Joins the thread (off the pool) and returns what `body` returned.
    var value: T {
        get async {
            if running {
                let t = thread
                await offPool { _ = pthread_join(t, nil) }
                running = false
            }
            return box.result!
        }
    }
}
