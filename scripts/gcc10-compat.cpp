// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// Linked only into the glibc 2.31 build (scripts/build-glibc231.sh): the Swift runtime is built
// with GCC 12's libstdc++ headers and calls std::__throw_bad_array_new_length(), which GCC 10's
// libstdc++ (Debian 11, Ubuntu 20.04) does not have. Same behaviour as libstdc++'s own.
#include <new>

namespace std {
[[noreturn]] void __throw_bad_array_new_length() { throw std::bad_array_new_length(); }
}
