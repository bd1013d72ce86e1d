// Teaches ThreadSanitizer the one thing it cannot see of Swift's Mutex on Linux: a lock
// handed over through the kernel. `make sanitize-thread` preloads this (LD_PRELOAD) into
// the tests and every lab they start; it is no part of any program we ship.
//
// Swift's Mutex (Synchronization, 6.x) takes a free lock with an atomic compare-exchange
// that is inlined into our code, so ThreadSanitizer sees it, acquire and release. A lock
// that is held goes to `_MutexHandle._lockSlow` in libswiftSynchronization.so, which is not
// instrumented: it spins on plain compare-exchanges, then waits in futex(FUTEX_LOCK_PI),
// and the kernel writes the new owner's thread id into the lock word. An owner that finds
// waiters unlocks through `_unlockSlow` (FUTEX_UNLOCK_PI), also unseen. So every time a
// lock is contended ThreadSanitizer misses the happens-before edge from the last owner to
// the next, and reports the two owners' accesses to what the lock guards as a race.
//
// The three functions below stand in for the library's (the dynamic linker finds ours
// first), call the real ones, and state that edge: __tsan_release on the lock word before
// a slow unlock, __tsan_acquire after a slow lock, the same as the inlined atomics state on
// the fast path. Nothing else is hidden: an access outside the lock is still reported.
//
// The Swift calling convention passes the handle (the address of its lock word) as `self`,
// in the swift_context register, and the slow lock's thread id as its one argument.
// If a toolchain renames these functions, `make sanitize-thread` says so and stops.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

// ThreadSanitizer's annotations (sanitizer/tsan_interface.h). Weak: programs that are not
// instrumented (openssl, the toolchain's own) inherit the preload, and these are null there.
void __tsan_acquire(void *address) __attribute__((weak));
void __tsan_release(void *address) __attribute__((weak));

#define SWIFTCALL __attribute__((swiftcall))
#define SELF __attribute__((swift_context))

#define LOCK_SLOW "$s15Synchronization12_MutexHandleV9_lockSlowyys6UInt32VF"
#define TRY_LOCK_SLOW "$s15Synchronization12_MutexHandleV12_tryLockSlowSbyF"
#define UNLOCK_SLOW "$s15Synchronization12_MutexHandleV11_unlockSlowyyF"

typedef SWIFTCALL void LockSlow(uint32_t threadID, void *SELF handle);
typedef SWIFTCALL bool TryLockSlow(void *SELF handle);
typedef SWIFTCALL void UnlockSlow(void *SELF handle);

static LockSlow *realLockSlow;
static TryLockSlow *realTryLockSlow;
static UnlockSlow *realUnlockSlow;

static void missing(const char *name) {
    fprintf(stderr, "tsan-mutex-handoff: libswiftSynchronization.so has no %s: see Tests/tsan-mutex-handoff.c\n", name);
    _exit(1);  // not abort(): a crash handler would bury the line above
}

// Looked up once, before main. A process without Swift's Synchronization never calls ours;
// one with it but without these functions has a Mutex this file does not know.
__attribute__((constructor)) static void findTheLibrarysFunctions(void) {
    realLockSlow = (LockSlow *)dlsym(RTLD_NEXT, LOCK_SLOW);
    realTryLockSlow = (TryLockSlow *)dlsym(RTLD_NEXT, TRY_LOCK_SLOW);
    realUnlockSlow = (UnlockSlow *)dlsym(RTLD_NEXT, UNLOCK_SLOW);
    if (!dlopen("libswiftSynchronization.so", RTLD_LAZY | RTLD_NOLOAD)) return;
    if (!realLockSlow) missing(LOCK_SLOW);
    if (!realTryLockSlow) missing(TRY_LOCK_SLOW);
    if (!realUnlockSlow) missing(UNLOCK_SLOW);
}

SWIFTCALL void lockSlow(uint32_t threadID, void *SELF handle) __asm__(LOCK_SLOW);
SWIFTCALL void lockSlow(uint32_t threadID, void *SELF handle) {
    if (!realLockSlow) missing(LOCK_SLOW);
    realLockSlow(threadID, handle);
    if (__tsan_acquire) __tsan_acquire(handle);
}

SWIFTCALL bool tryLockSlow(void *SELF handle) __asm__(TRY_LOCK_SLOW);
SWIFTCALL bool tryLockSlow(void *SELF handle) {
    if (!realTryLockSlow) missing(TRY_LOCK_SLOW);
    bool locked = realTryLockSlow(handle);
    if (locked && __tsan_acquire) __tsan_acquire(handle);
    return locked;
}

SWIFTCALL void unlockSlow(void *SELF handle) __asm__(UNLOCK_SLOW);
SWIFTCALL void unlockSlow(void *SELF handle) {
    if (!realUnlockSlow) missing(UNLOCK_SLOW);
    if (__tsan_release) __tsan_release(handle);
    realUnlockSlow(handle);
}
