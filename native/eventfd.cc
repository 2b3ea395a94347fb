// eventfd: create (non-blocking, counter mode), signal (write u64 1) and drain (read the counter),
// such that neither can block the calling thread, whatever the peer does to the open file
// description it shares with us.
//
// The peer holds the same description as we do (that is how memif interrupts work), so it can
// clear O_NONBLOCK on it at any moment, saturate the counter (write 2^64 - 2), or read the count
// away between our poll and our read. No check-then-act can guard against that, so:
// - drain reads with preadv2(RWF_NOWAIT), which an eventfd honours whatever the file's flags;
// - signal cannot use RWF_NOWAIT (an eventfd has no write_iter), so a watchdog thread bounds every
//   write: a write still in progress on two ticks in a row whose counter is saturated is released
//   by draining that counter (a read wakes a blocked writer), and one still stuck a tick after that
//   by a signal to the writing thread (installed without SA_RESTART, so the write returns EINTR).
//   Either way the write reports EDEADLK, and the caller treats the peer as broken.
// Cost on the normal path: two uncontended mutex lock/unlock pairs per write, no extra syscall.
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "common.h"

namespace memif {
namespace {

constexpr int kTickMs = 10;
// A counter at or above this can only come from a peer writing huge values: a memif producer adds
// 1 per burst, and the consumer resets it to 0 on every wake-up.
constexpr uint64_t kSaturated = 1ULL << 62;

// What one thread is writing, if anything. Guarded by mu; the watchdog only acts under mu, so the
// fd it drains is the one the writer is still blocked on (the writer clears fd before it can
// return, and so before its owner can close the fd).
struct WriteSlot {
  std::mutex mu;
  pthread_t thread;
  int fd = -1;
  uint64_t seq = 0;
  // Watchdog state: the seq seen at the last tick, and what it has done to the current write.
  uint64_t seen = 0;
  int stuckTicks = 0;
  bool drained = false;
  bool signalled = false;
  // Set by the watchdog, read by the writer after the write returns.
  bool intervened = false;
};

std::mutex g_slotsMu;
std::vector<WriteSlot*>* g_slots = nullptr;  // never freed: the watchdog may outlive any thread
int g_signal = 0;                            // 0: no signal could be installed (drain only)

void NoopHandler(int) {}

// Picks a real-time signal nobody handles, and installs an empty handler without SA_RESTART.
int InstallSignal() {
  for (int s = SIGRTMAX - 4; s > SIGRTMIN + 4; s--) {
    struct sigaction old;
    if (sigaction(s, nullptr, &old) != 0) continue;
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = NoopHandler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the blocked write returns EINTR
    if (sigaction(s, &sa, nullptr) == 0) return s;
  }
  return 0;
}

// The counter's value from /proc/self/fdinfo (no read of the eventfd itself), or 0 if unknown.
uint64_t PeekCount(int fd) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return 0;
  char line[128];
  unsigned long long v = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "eventfd-count: %llx", &v) == 1) break;
  }
  std::fclose(f);
  return v;
}

uint64_t NowaitRead(int fd, int* err) {
  uint64_t value = 0;
  iovec iov{&value, sizeof(value)};
  ssize_t n;
  do {
    n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    *err = errno;
    return 0;
  }
  *err = n == static_cast<ssize_t>(sizeof(value)) ? 0 : EIO;
  return value;
}

void Watch(WriteSlot* s) {
  std::lock_guard<std::mutex> lock(s->mu);
  if (s->fd < 0 || s->seq != s->seen) {
    s->seen = s->seq;
    s->stuckTicks = 0;
    return;
  }
  // The same write was in progress at the last tick too.
  if (++s->stuckTicks < 2) return;
  if (!s->drained) {
    // A thread that was merely descheduled has a small counter: leave it alone.
    if (PeekCount(s->fd) < kSaturated) return;
    int err;
    NowaitRead(s->fd, &err);
    s->drained = true;
    s->intervened = true;
    return;
  }
  if (!s->signalled && g_signal != 0) {
    // Drained, and still stuck: the peer keeps saturating it. Interrupt the write.
    s->signalled = true;
    s->intervened = true;
    pthread_kill(s->thread, g_signal);
  }
}

void WatchdogLoop() {
  timespec tick{0, kTickMs * 1000000L};
  for (;;) {
    nanosleep(&tick, nullptr);
    std::lock_guard<std::mutex> lock(g_slotsMu);
    for (WriteSlot* s : *g_slots) Watch(s);
  }
}

// The calling thread's slot, registered on first use; the watchdog starts with the first slot.
WriteSlot* ThisThreadSlot() {
  struct Owner {
    WriteSlot* slot = nullptr;
    ~Owner() {
      if (slot == nullptr) return;
      std::lock_guard<std::mutex> lock(g_slotsMu);
      for (auto it = g_slots->begin(); it != g_slots->end(); ++it) {
        if (*it == slot) {
          g_slots->erase(it);
          break;
        }
      }
      delete slot;
    }
  };
  thread_local Owner owner;
  if (owner.slot != nullptr) return owner.slot;
  static std::once_flag started;
  std::call_once(started, [] {
    g_slots = new std::vector<WriteSlot*>();
    g_signal = InstallSignal();
    std::thread(WatchdogLoop).detach();
  });
  WriteSlot* s = new WriteSlot();
  s->thread = pthread_self();
  {
    std::lock_guard<std::mutex> lock(g_slotsMu);
    g_slots->push_back(s);
  }
  owner.slot = s;
  return s;
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, "eventfd", errno);
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// Returns 0, or the errno of a failed write; EDEADLK when the watchdog had to release the write
// (the peer blocked it). EAGAIN (counter at its maximum, O_NONBLOCK still set) counts as success:
// the consumer has an unread wake-up pending anyway.
int SignalOne(int fd) {
  WriteSlot* s = ThisThreadSlot();
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->fd = fd;
    s->seq++;
    s->stuckTicks = 0;
    s->drained = false;
    s->signalled = false;
    s->intervened = false;
  }
  uint64_t one = 1;
  ssize_t n;
  int err = 0;
  for (;;) {
    n = write(fd, &one, sizeof(one));
    if (n >= 0) break;
    err = errno;
    if (err != EINTR) break;
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->intervened) break;
  }
  bool intervened;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->fd = -1;
    intervened = s->intervened;
  }
  if (intervened) return EDEADLK;
  if (n < 0 && err != EAGAIN) return err;
  return 0;
}

// signal(fd): 0 on success, else errno (not thrown: a dead peer's eventfd must not break a burst).
Napi::Value Signal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  return Napi::Number::New(env, SignalOne(info[0].As<Napi::Number>().Int32Value()));
}

// drain(fd): the counter's value (how many signals were coalesced), 0 if none was pending, or
// -errno if the read failed (never thrown; never blocks, whatever O_NONBLOCK says).
Napi::Value Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  int err = 0;
  uint64_t value = NowaitRead(info[0].As<Napi::Number>().Int32Value(), &err);
  if (err == EAGAIN) return Napi::Number::New(env, 0);
  if (err != 0) return Napi::Number::New(env, -err);
  return Napi::Number::New(env, static_cast<double>(value));
}

}  // namespace

void InitEventfd(Napi::Env env, Napi::Object exports) {
  exports.Set("eventfdCreate", Napi::Function::New(env, Create, "eventfdCreate"));
  exports.Set("eventfdSignal", Napi::Function::New(env, Signal, "eventfdSignal"));
  exports.Set("eventfdDrain", Napi::Function::New(env, Drain, "eventfdDrain"));
}

}  // namespace memif
